// Tenant Portal: small progressive enhancements. Every page works without them; the
// Content-Security-Policy allows only scripts from the portal itself, so none inline.
(function () {
  "use strict";

  // "Copy" buttons next to a field: shown only where the clipboard can be written.
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field || !navigator.clipboard) {
      return;
    }
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = field.value || field.textContent;
      navigator.clipboard.writeText(text).then(function () {
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = label; }, 2000);
      }, function () {
        field.select();
      });
    });
  });

  // Passkeys (WebAuthn). A form marked data-passkey ("register", "sign-in" or
  // "confirm") first posts itself to its data-options address for the WebAuthn options
  // (JSON, binary values in base64url), asks the browser's authenticator, puts the
  // answer in its "credential" field (JSON, base64url again) and is then submitted as
  // usual. The portal answers that with an ordinary page.
  function fromBase64url(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var raw = atob(b64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map(function (c) {
      var copy = Object.assign({}, c);
      copy.id = fromBase64url(c.id);
      return copy;
    });
  }

  function creationOptions(json) {
    var o = Object.assign({}, json.publicKey);
    o.challenge = fromBase64url(o.challenge);
    o.user = Object.assign({}, o.user, { id: fromBase64url(o.user.id) });
    o.excludeCredentials = withIds(o.excludeCredentials);
    return { publicKey: o };
  }

  function requestOptions(json) {
    var o = Object.assign({}, json.publicKey);
    o.challenge = fromBase64url(o.challenge);
    o.allowCredentials = withIds(o.allowCredentials);
    return { publicKey: o };
  }

  function answerOf(cred) {
    var r = cred.response;
    var response = { clientDataJSON: toBase64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toBase64url(r.attestationObject);
    } else {
      response.authenticatorData = toBase64url(r.authenticatorData);
      response.signature = toBase64url(r.signature);
      if (r.userHandle) { response.userHandle = toBase64url(r.userHandle); }
    }
    return JSON.stringify({
      id: cred.id,
      rawId: toBase64url(cred.rawId),
      type: cred.type,
      response: response,
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
    });
  }

  function problemOf(error, kind) {
    switch (error && error.name) {
      case "NotAllowedError":
        return "The passkey request was cancelled or timed out, or your device could not confirm it is you. Nothing was changed; try again when you are ready.";
      case "InvalidStateError":
        return kind === "register"
          ? "This device already holds a passkey for your account."
          : "Your device could not use that passkey. Try again.";
      case "SecurityError":
        return "Passkeys do not work at this address of the portal.";
      case "NotSupportedError":
        return "Your device or browser does not support the kind of passkey this portal needs.";
      default:
        return (error && error.portalMessage) || "The passkey request failed. Please try again.";
    }
  }

  document.querySelectorAll("form[data-passkey]").forEach(function (form) {
    var kind = form.getAttribute("data-passkey");
    var status = form.parentNode.querySelector("[data-passkey-status]");
    var button = form.querySelector("button[type=submit]");
    function say(message, problem) {
      if (!status) { return; }
      status.textContent = message;
      status.classList.toggle("is-problem", !!problem);
    }
    if (!window.PublicKeyCredential || !navigator.credentials) {
      if (button) { button.disabled = true; }
      say("This browser cannot use passkeys. Use a recent browser, or sign in another way.", true);
      return;
    }
    var answer = form.querySelector("input[name=credential]");
    var busy = false;
    form.addEventListener("submit", function (event) {
      if (answer.value) { return; }
      event.preventDefault();
      if (busy || !form.reportValidity()) { return; }
      busy = true;
      if (button) { button.disabled = true; }
      say("Follow your browser's prompt to use your passkey…", false);
      var body = new URLSearchParams();
      body.set("csrf_token", form.querySelector("input[name=csrf_token]").value);
      fetch(form.getAttribute("data-options"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json" },
        body: body.toString()
      }).then(function (res) {
        return res.json().catch(function () { return {}; }).then(function (json) {
          if (!res.ok) {
            var e = new Error("options");
            e.portalMessage = json.error || "The portal could not start the passkey request (" + res.status + "). Reload the page and try again.";
            throw e;
          }
          return kind === "register"
            ? navigator.credentials.create(creationOptions(json))
            : navigator.credentials.get(requestOptions(json));
        });
      }).then(function (cred) {
        answer.value = answerOf(cred);
        say("Checking your passkey…", false);
        form.submit();
      }).catch(function (error) {
        busy = false;
        if (button) { button.disabled = false; }
        say(problemOf(error, kind), true);
      });
    });
  });

  // Exact times in the reader's own time zone, on hover.
  document.querySelectorAll("time[datetime]").forEach(function (el) {
    var at = new Date(el.getAttribute("datetime"));
    if (!isNaN(at.getTime())) {
      el.title = at.toLocaleString();
    }
  });
})();
