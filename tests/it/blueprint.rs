//! The Authentik blueprint `deploy/authentik/blueprints/tenant-portal.yaml`, read the way
//! Authentik reads it. Authentik cannot run here, so the file is loaded with its custom
//! tags kept, the tags are evaluated like Authentik's blueprint importer does (`!Env`,
//! `!Context`, `!Format`; a `!Find` or `!KeyOf` becomes the lookup it stands for, since
//! only a database could answer it), and the result is checked against what Authentik's
//! OAuth2 provider accepts and does:
//!
//! - every redirect URI is exact, or a regular expression that matches nothing outside
//!   the portal's own origin (Authentik sends authorization codes to whatever matches);
//! - every attribute is one Authentik's serializers know (others are dropped silently);
//! - Authentik's scope mappings are found by their `managed` identifiers, which are
//!   unique, not by `scope_name`, which an operator's own mapping can share;
//! - Authentik's own blueprints that make the flows and scope mappings looked up here
//!   are applied first, so a fresh Authentik cannot run the lookups before them;
//! - the issuer is per provider and the `groups` claim the portal admits people by is
//!   mapped.
//!
//! The YAML is read as YAML 1.2 where Authentik's loader reads 1.1; they agree on what the
//! blueprint writes (`true`, `false`, `null`, strings, lists, mappings), not on `yes`/`no`.

use std::collections::BTreeMap;

use regex::Regex;
use saphyr::{LoadableYamlNode, Scalar, Yaml};
use url::Url;

const BLUEPRINT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/deploy/authentik/blueprints/tenant-portal.yaml"
);

const PROVIDER: &str = "authentik_providers_oauth2.oauth2provider";
const SCOPE_MAPPING: &str = "authentik_providers_oauth2.scopemapping";
const APPLICATION: &str = "authentik_core.application";
const GROUP: &str = "authentik_core.group";
const FLOW: &str = "authentik_flows.flow";
const CERTIFICATE: &str = "authentik_crypto.certificatekeypair";
const APPLY_BLUEPRINT: &str = "authentik_blueprints.metaapplyblueprint";
const BINDING: &str = "authentik_flows.flowstagebinding";
const IDENTIFICATION: &str = "authentik_stages_identification.identificationstage";
const PASSWORD_STAGE: &str = "authentik_stages_password.passwordstage";
const VALIDATE: &str = "authentik_stages_authenticator_validate.authenticatorvalidatestage";
const USER_LOGIN: &str = "authentik_stages_user_login.userloginstage";

/// Fields Authentik's `OAuth2ProviderSerializer` accepts in every release the blueprint
/// supports: the request schemas of Authentik's API for 2024.10 (after 2024.10.3, the first
/// with redirect URIs as objects), 2024.12, 2025.12, 2026.2, 2026.5 and 2026.8, intersected.
/// Later releases add fields (`logout_uri` and `logout_method` by 2025.12, `grant_types` in
/// 2026.5); a field the running Authentik does not know is dropped without a word.
const OAUTH2_PROVIDER_FIELDS: &[&str] = &[
    "name",
    "authentication_flow",
    "authorization_flow",
    "invalidation_flow",
    "property_mappings",
    "client_type",
    "client_id",
    "client_secret",
    "access_code_validity",
    "access_token_validity",
    "refresh_token_validity",
    "include_claims_in_id_token",
    "signing_key",
    "encryption_key",
    "redirect_uris",
    "sub_mode",
    "issuer_mode",
];

/// Fields of one redirect URI: `matching_mode` and `url`, and from 2026.5 on
/// `redirect_uri_type` (`authorization` or `logout`). Older releases drop the type and take
/// every entry as an authorization redirect URI, so the rules below hold for every entry.
const REDIRECT_URI_FIELDS: &[&str] = &["matching_mode", "url", "redirect_uri_type"];

/// `ApplicationSerializer`, same releases, intersected.
const APPLICATION_FIELDS: &[&str] = &[
    "name",
    "slug",
    "provider",
    "backchannel_providers",
    "open_in_new_tab",
    "meta_launch_url",
    "meta_description",
    "meta_publisher",
    "policy_engine_mode",
    "group",
];

/// `ScopeMappingSerializer`, same releases (unchanged across them).
const SCOPE_MAPPING_FIELDS: &[&str] =
    &["managed", "name", "expression", "scope_name", "description"];

/// `GroupSerializer`, same releases, intersected (`parent` became `parents` by 2025.12).
const GROUP_FIELDS: &[&str] = &["name", "is_superuser", "users", "attributes", "roles"];

/// `FlowSerializer` fields the blueprint sets (unchanged since 2023).
const FLOW_FIELDS: &[&str] = &[
    "name",
    "slug",
    "title",
    "designation",
    "authentication",
    "policy_engine_mode",
];

/// `FlowStageBindingSerializer`.
const BINDING_FIELDS: &[&str] = &[
    "target",
    "stage",
    "order",
    "evaluate_on_plan",
    "re_evaluate_policies",
    "policy_engine_mode",
    "invalid_response_action",
];

/// `IdentificationStageSerializer` (`passwordless_flow` since 2021.x).
const IDENTIFICATION_FIELDS: &[&str] = &[
    "name",
    "user_fields",
    "password_stage",
    "case_insensitive_matching",
    "show_matched_user",
    "enrollment_flow",
    "recovery_flow",
    "passwordless_flow",
    "sources",
    "show_source_labels",
];

/// `PasswordStageSerializer`.
const PASSWORD_STAGE_FIELDS: &[&str] = &[
    "name",
    "backends",
    "configure_flow",
    "failed_attempts_before_cancel",
];

/// `AuthenticatorValidateStageSerializer` (`webauthn_user_verification` since 2022.12).
const VALIDATE_FIELDS: &[&str] = &[
    "name",
    "not_configured_action",
    "device_classes",
    "configuration_stages",
    "last_auth_threshold",
    "webauthn_user_verification",
];

/// `UserLoginStageSerializer`.
const USER_LOGIN_FIELDS: &[&str] = &["name", "session_duration"];

/// The meta model that applies another blueprint: which one, and whether it must exist.
const APPLY_BLUEPRINT_FIELDS: &[&str] = &["identifiers", "required"];

/// Keys of one entry (Authentik's `BlueprintEntry`).
const ENTRY_KEYS: &[&str] = &[
    "model",
    "state",
    "conditions",
    "identifiers",
    "attrs",
    "permissions",
    "id",
];

/// Tags Authentik's blueprint loader registers (as of 2025.12); any other tag fails the import.
const AUTHENTIK_TAGS: &[&str] = &[
    "KeyOf",
    "Find",
    "FindObject",
    "Context",
    "Format",
    "Condition",
    "If",
    "Env",
    "File",
    "Enumerate",
    "Value",
    "Index",
    "AtIndex",
    "ParseJSON",
];

/// Which of Authentik's own blueprints makes the objects this blueprint looks up, by the
/// name a `metaapplyblueprint` entry finds it by (its `metadata.name`; files
/// `blueprints/default/flow-default-provider-authorization-implicit-consent.yaml`,
/// `blueprints/default/flow-default-provider-invalidation.yaml` and
/// `blueprints/system/providers-oauth2.yaml` in Authentik's repository).
const MADE_BY: &[(&str, &str, &str, &str)] = &[
    (
        FLOW,
        "slug",
        "default-provider-authorization-implicit-consent",
        "Default - Provider authorization flow (implicit consent)",
    ),
    (
        FLOW,
        "slug",
        "default-provider-invalidation-flow",
        "Default - Provider invalidation flow",
    ),
    (
        SCOPE_MAPPING,
        "managed",
        "goauthentik.io/providers/oauth2/scope-openid",
        "System - OAuth2 Provider - Scopes",
    ),
    (
        SCOPE_MAPPING,
        "managed",
        "goauthentik.io/providers/oauth2/scope-email",
        "System - OAuth2 Provider - Scopes",
    ),
    (
        SCOPE_MAPPING,
        "managed",
        "goauthentik.io/providers/oauth2/scope-profile",
        "System - OAuth2 Provider - Scopes",
    ),
];

/// The self-signed key pair Authentik creates when it starts (not through a blueprint).
const SELF_SIGNED: &str = "authentik Self-signed Certificate";

const CALLBACK_PATH: &str = "/auth/oidc/callback";

/// Portal URLs the blueprint is resolved with.
const PORTAL_URLS: &[&str] = &["https://portal.example.com", "https://sso.acme.co.uk:8443"];

// ---------------------------------------------------------------------------------------
// Loading: YAML with Authentik's tags kept.

/// A YAML node with its tag, before Authentik's tags are evaluated.
#[derive(Debug, Clone)]
enum Node {
    Scalar(Val),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
    Tagged(String, Box<Node>),
}

fn node_of(yaml: &Yaml) -> Result<Node, String> {
    Ok(match yaml {
        Yaml::Value(scalar) => Node::Scalar(match scalar {
            Scalar::Null => Val::Null,
            Scalar::Boolean(b) => Val::Bool(*b),
            Scalar::Integer(i) => Val::Int(*i),
            Scalar::FloatingPoint(f) => Val::Float(f.into_inner()),
            Scalar::String(s) => Val::Str(s.to_string()),
        }),
        Yaml::Sequence(items) => Node::Seq(items.iter().map(node_of).collect::<Result<_, _>>()?),
        Yaml::Mapping(map) => {
            let mut pairs = Vec::new();
            for (k, v) in map {
                let Yaml::Value(Scalar::String(key)) = k else {
                    return Err(format!("mapping key {k:?} is not a string"));
                };
                pairs.push((key.to_string(), node_of(v)?));
            }
            Node::Map(pairs)
        }
        Yaml::Tagged(tag, inner) => {
            if tag.handle != "!" {
                return Err(format!(
                    "tag {}{} is not one of Authentik's",
                    tag.handle, tag.suffix
                ));
            }
            Node::Tagged(tag.suffix.clone(), Box::new(node_of(inner)?))
        }
        other => return Err(format!("YAML node {other:?} is not supported here")),
    })
}

fn get<'a>(pairs: &'a [(String, Node)], key: &str) -> Option<&'a Node> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

struct RawEntry {
    keys: Vec<String>,
    model: String,
    id: Option<String>,
    state: Node,
    identifiers: Node,
    attrs: Node,
}

struct RawBlueprint {
    version: Node,
    metadata: Option<Node>,
    context: Vec<(String, Node)>,
    entries: Vec<RawEntry>,
}

fn load(text: &str) -> Result<RawBlueprint, String> {
    let docs = Yaml::load_from_str(text).map_err(|e| format!("not YAML: {e}"))?;
    let [doc] = docs.as_slice() else {
        return Err(format!(
            "{} YAML documents, Authentik reads one",
            docs.len()
        ));
    };
    let Node::Map(top) = node_of(doc)? else {
        return Err("the blueprint is not a mapping".into());
    };
    let context = match get(&top, "context") {
        None => Vec::new(),
        Some(Node::Map(pairs)) => pairs.clone(),
        Some(other) => return Err(format!("context is not a mapping: {other:?}")),
    };
    let Some(Node::Seq(items)) = get(&top, "entries") else {
        return Err("entries is not a list".into());
    };
    let mut entries = Vec::new();
    for item in items {
        let Node::Map(pairs) = item else {
            return Err(format!("entry is not a mapping: {item:?}"));
        };
        let model = match get(pairs, "model") {
            Some(Node::Scalar(Val::Str(m))) => m.clone(),
            other => return Err(format!("entry without a plain model: {other:?}")),
        };
        let id = match get(pairs, "id") {
            None => None,
            Some(Node::Scalar(Val::Str(id))) => Some(id.clone()),
            Some(other) => return Err(format!("entry id is not a string: {other:?}")),
        };
        let or_empty = |key| get(pairs, key).cloned().unwrap_or(Node::Map(Vec::new()));
        entries.push(RawEntry {
            keys: pairs.iter().map(|(k, _)| k.clone()).collect(),
            model,
            id,
            state: get(pairs, "state")
                .cloned()
                .unwrap_or(Node::Scalar(Val::Str("present".into()))),
            identifiers: or_empty("identifiers"),
            attrs: or_empty("attrs"),
        });
    }
    Ok(RawBlueprint {
        version: get(&top, "version")
            .cloned()
            .unwrap_or(Node::Scalar(Val::Int(1))),
        metadata: get(&top, "metadata").cloned(),
        context,
        entries,
    })
}

// ---------------------------------------------------------------------------------------
// Evaluating Authentik's tags.

/// A value as Authentik's importer hands it to a serializer.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Val>),
    Map(Vec<(String, Val)>),
    /// `!Find [model, [field, value], ...]`: the primary key of the first object that
    /// matches, or null when there is none.
    Find {
        model: String,
        conditions: Vec<(String, Val)>,
    },
    /// `!KeyOf id`: the primary key of the object an earlier entry with that id made.
    KeyOf(String),
}

impl Val {
    fn str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    fn field(&self, key: &str) -> Option<&Val> {
        match self {
            Val::Map(pairs) => pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        match self {
            Val::Map(pairs) => pairs.iter().map(|(k, _)| k.as_str()).collect(),
            _ => Vec::new(),
        }
    }

    /// Python's truth value, where it can be known without a database.
    fn truthy(&self) -> Result<bool, String> {
        Ok(match self {
            Val::Null => false,
            Val::Bool(b) => *b,
            Val::Int(i) => *i != 0,
            Val::Float(f) => *f != 0.0,
            Val::Str(s) => !s.is_empty(),
            Val::Seq(v) => !v.is_empty(),
            Val::Map(m) => !m.is_empty(),
            Val::Find { .. } | Val::KeyOf(_) => {
                return Err(format!(
                    "{self:?} used as a condition depends on Authentik's database"
                ));
            }
        })
    }

    /// Python's `str()` of the value, as `%s` formats it.
    fn python_str(&self) -> Result<String, String> {
        Ok(match self {
            Val::Null => "None".into(),
            Val::Bool(true) => "True".into(),
            Val::Bool(false) => "False".into(),
            Val::Int(i) => i.to_string(),
            Val::Str(s) => s.clone(),
            other => return Err(format!("!Format of {other:?} is not checked here")),
        })
    }

    /// Every lookup in the value, depth first.
    fn lookups<'a>(&'a self, out: &mut Vec<&'a Val>) {
        match self {
            Val::Find { .. } | Val::KeyOf(_) => out.push(self),
            Val::Seq(items) => items.iter().for_each(|v| v.lookups(out)),
            Val::Map(pairs) => pairs.iter().for_each(|(_, v)| v.lookups(out)),
            _ => {}
        }
    }
}

fn json_to_val(value: serde_json::Value) -> Val {
    match value {
        serde_json::Value::Null => Val::Null,
        serde_json::Value::Bool(b) => Val::Bool(b),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map_or(Val::Float(n.as_f64().unwrap_or(f64::NAN)), Val::Int),
        serde_json::Value::String(s) => Val::Str(s),
        serde_json::Value::Array(items) => Val::Seq(items.into_iter().map(json_to_val).collect()),
        serde_json::Value::Object(map) => {
            Val::Map(map.into_iter().map(|(k, v)| (k, json_to_val(v))).collect())
        }
    }
}

/// Evaluates tags with a given environment (the Authentik worker's) and the blueprint's
/// `context`.
struct Resolver<'a> {
    env: &'a BTreeMap<&'a str, &'a str>,
    context: &'a [(String, Node)],
}

impl Resolver<'_> {
    fn resolve(&self, node: &Node) -> Result<Val, String> {
        match node {
            Node::Scalar(v) => Ok(v.clone()),
            Node::Seq(items) => Ok(Val::Seq(
                items
                    .iter()
                    .map(|n| self.resolve(n))
                    .collect::<Result<_, _>>()?,
            )),
            Node::Map(pairs) => Ok(Val::Map(
                pairs
                    .iter()
                    .map(|(k, n)| Ok((k.clone(), self.resolve(n)?)))
                    .collect::<Result<_, String>>()?,
            )),
            Node::Tagged(tag, inner) => self.tag(tag, inner),
        }
    }

    /// A tag's arguments: the scalar alone, or the items of the sequence.
    fn args(tag: &str, inner: &Node) -> Result<Vec<Node>, String> {
        match inner {
            Node::Seq(items) => Ok(items.clone()),
            Node::Scalar(_) => Ok(vec![inner.clone()]),
            _ => Err(format!(
                "!{tag} takes a scalar or a sequence, not {inner:?}"
            )),
        }
    }

    fn string(&self, tag: &str, node: &Node) -> Result<String, String> {
        match self.resolve(node)? {
            Val::Str(s) => Ok(s),
            other => Err(format!("!{tag} needs a string here, not {other:?}")),
        }
    }

    fn tag(&self, tag: &str, inner: &Node) -> Result<Val, String> {
        if !AUTHENTIK_TAGS.contains(&tag) {
            return Err(format!(
                "!{tag} is not a tag Authentik's blueprint loader knows"
            ));
        }
        let args = Self::args(tag, inner)?;
        match tag {
            // The variable when it is set and not empty (Python's `or`), else the default.
            "Env" => {
                let key = self.string(tag, &args[0])?;
                match self.env.get(key.as_str()) {
                    Some(value) if !value.is_empty() => Ok(Val::Str((*value).to_string())),
                    _ => args.get(1).map_or(Ok(Val::Null), |d| self.resolve(d)),
                }
            }
            "Context" => {
                let key = self.string(tag, &args[0])?;
                match get(self.context, &key) {
                    Some(value) => self.resolve(value),
                    None => args.get(1).map_or(Ok(Val::Null), |d| self.resolve(d)),
                }
            }
            // Python's `format % tuple(args)`.
            "Format" => {
                let format = self.string(tag, &args[0])?;
                let values = args[1..]
                    .iter()
                    .map(|n| self.resolve(n))
                    .collect::<Result<Vec<_>, _>>()?;
                python_percent(&format, &values).map(Val::Str)
            }
            "Find" | "FindObject" => {
                let model = self.string(tag, &args[0])?;
                let mut conditions = Vec::new();
                for condition in &args[1..] {
                    let Node::Seq(pair) = condition else {
                        return Err(format!(
                            "!{tag} condition is not [field, value]: {condition:?}"
                        ));
                    };
                    let [field, value] = pair.as_slice() else {
                        return Err(format!("!{tag} condition is not [field, value]: {pair:?}"));
                    };
                    conditions.push((self.string(tag, field)?, self.resolve(value)?));
                }
                if tag == "FindObject" {
                    return Err("!FindObject is not used by this blueprint; teach the test".into());
                }
                Ok(Val::Find { model, conditions })
            }
            "KeyOf" => match inner {
                Node::Scalar(Val::Str(id)) => Ok(Val::KeyOf(id.clone())),
                _ => Err(format!("!KeyOf takes an entry id, not {inner:?}")),
            },
            "If" => {
                let condition = self.resolve(&args[0])?.truthy()?;
                match args.len() {
                    1 => Ok(Val::Bool(condition)),
                    3 => self.resolve(&args[if condition { 1 } else { 2 }]),
                    n => Err(format!("!If takes 1 or 3 arguments, not {n}")),
                }
            }
            "Condition" => {
                let mode = self.string(tag, &args[0])?.to_uppercase();
                let values = args[1..]
                    .iter()
                    .map(|n| self.resolve(n)?.truthy())
                    .collect::<Result<Vec<_>, _>>()?;
                if values.is_empty() {
                    return Err("!Condition needs at least one value".into());
                }
                let xor = values.iter().fold(false, |a, b| a ^ b);
                Ok(Val::Bool(match mode.as_str() {
                    "AND" => values.iter().all(|v| *v),
                    "NAND" => !values.iter().all(|v| *v),
                    "OR" => values.iter().any(|v| *v),
                    "NOR" => !values.iter().any(|v| *v),
                    "XOR" => xor,
                    "XNOR" => !xor,
                    other => return Err(format!("!Condition has no mode {other}")),
                }))
            }
            "ParseJSON" => {
                let raw = self.string(tag, &args[0])?;
                serde_json::from_str(&raw)
                    .map(json_to_val)
                    .map_err(|e| format!("!ParseJSON: {e}"))
            }
            _ => Err(format!(
                "!{tag} is Authentik's but not used by this blueprint; teach the test"
            )),
        }
    }
}

/// Python's `%` string formatting, for the conversions a blueprint needs (`%s`, `%%`).
fn python_percent(format: &str, values: &[Val]) -> Result<String, String> {
    let mut out = String::new();
    let mut values = values.iter();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('s') => {
                let value = values
                    .next()
                    .ok_or("!Format: not enough arguments for the format")?;
                out.push_str(&value.python_str()?);
            }
            other => {
                return Err(format!(
                    "!Format: conversion %{other:?} is not checked here"
                ));
            }
        }
    }
    if values.next().is_some() {
        return Err("!Format: not all arguments converted".into());
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// The blueprint as Authentik would apply it.

struct Entry {
    index: usize,
    keys: Vec<String>,
    model: String,
    id: Option<String>,
    state: Val,
    identifiers: Val,
    attrs: Val,
}

impl Entry {
    /// Identifiers and attributes together, as the importer gives them to the serializer.
    fn data(&self) -> Vec<(&str, &Val)> {
        let mut out = Vec::new();
        for part in [&self.identifiers, &self.attrs] {
            if let Val::Map(pairs) = part {
                out.extend(pairs.iter().map(|(k, v)| (k.as_str(), v)));
            }
        }
        out
    }

    fn get(&self, key: &str) -> Option<&Val> {
        self.attrs
            .field(key)
            .or_else(|| self.identifiers.field(key))
    }

    fn lookups(&self) -> Vec<&Val> {
        let mut out = Vec::new();
        self.identifiers.lookups(&mut out);
        self.attrs.lookups(&mut out);
        out
    }
}

struct Blueprint {
    entries: Vec<Entry>,
}

impl Blueprint {
    fn of_model(&self, model: &str) -> Vec<&Entry> {
        self.entries.iter().filter(|e| e.model == model).collect()
    }

    fn only(&self, model: &str) -> &Entry {
        let found = self.of_model(model);
        assert_eq!(found.len(), 1, "expected exactly one {model} entry");
        found[0]
    }

    fn by_id(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id.as_deref() == Some(id))
    }
}

fn read_blueprint() -> String {
    std::fs::read_to_string(BLUEPRINT).unwrap_or_else(|e| panic!("{BLUEPRINT}: {e}"))
}

/// The blueprint as Authentik resolves it with `env` as the worker's environment.
fn resolve(env: &[(&str, &str)]) -> Blueprint {
    let env: BTreeMap<&str, &str> = env.iter().copied().collect();
    let raw = load(&read_blueprint()).unwrap_or_else(|e| panic!("{BLUEPRINT}: {e}"));
    let resolver = Resolver {
        env: &env,
        context: &raw.context,
    };
    let r = |n: &Node| {
        resolver
            .resolve(n)
            .unwrap_or_else(|e| panic!("{BLUEPRINT}: {e}"))
    };
    assert_eq!(r(&raw.version), Val::Int(1), "blueprint version");
    let metadata = raw.metadata.as_ref().map(r);
    assert!(
        metadata
            .as_ref()
            .and_then(|m| m.field("name"))
            .and_then(Val::str)
            .is_some(),
        "metadata.name is required"
    );
    Blueprint {
        entries: raw
            .entries
            .iter()
            .enumerate()
            .map(|(index, e)| Entry {
                index,
                keys: e.keys.clone(),
                model: e.model.clone(),
                id: e.id.clone(),
                state: r(&e.state),
                identifiers: r(&e.identifiers),
                attrs: r(&e.attrs),
            })
            .collect(),
    }
}

fn env_for(portal_url: &str) -> Vec<(&str, &str)> {
    vec![
        ("PORTAL_BASE_URL", portal_url),
        ("PORTAL_OIDC_CLIENT_ID", "tenant-portal"),
        ("PORTAL_OIDC_CLIENT_SECRET", "a-long-random-secret"),
    ]
}

/// Hosts that look like the portal's: each dot of its host replaced, the host extended,
/// the host used as user info in front of another host, another scheme, another port.
fn look_alike_origins(portal: &Url) -> Vec<String> {
    let host = portal.host_str().expect("portal URL has a host");
    let port = portal.port().map(|p| format!(":{p}")).unwrap_or_default();
    let scheme = portal.scheme();
    let mut out = Vec::new();
    for (i, _) in host.match_indices('.') {
        for replacement in ["-", "x", ""] {
            let mut alike = host.to_string();
            alike.replace_range(i..=i, replacement);
            out.push(format!("{scheme}://{alike}{port}"));
        }
    }
    out.push(format!("{scheme}://{host}{port}.evil.test"));
    out.push(format!("{scheme}://{host}.evil.test{port}"));
    out.push(format!("{scheme}://{host}evil.test{port}"));
    out.push(format!("{scheme}://{host}{port}@evil.test"));
    out.push(format!("{scheme}://evil.test/{host}{port}"));
    let other_port = if portal.port() == Some(8443) {
        8444
    } else {
        8443
    };
    out.push(format!("{scheme}://{host}:{other_port}"));
    let other_scheme = if scheme == "https" { "http" } else { "https" };
    out.push(format!("{other_scheme}://{host}{port}"));
    out
}

/// A URL off the portal's origin that the redirect URI pattern accepts, if any. Authentik
/// matches the whole URI; a pattern that merely matches from the start is taken here,
/// which is stricter. A pattern this test cannot compile is an error: use a strict entry.
fn regex_accepts_look_alike(pattern: &str, portal: &Url) -> Option<String> {
    let compiled = Regex::new(&format!("^(?:{pattern})")).unwrap_or_else(|e| {
        panic!("redirect URI regex {pattern} cannot be checked ({e}); use a strict entry")
    });
    look_alike_origins(portal)
        .into_iter()
        .flat_map(|origin| {
            [CALLBACK_PATH, "/t/acme/login?signed_out=1", "/"].map(|path| format!("{origin}{path}"))
        })
        .find(|candidate| compiled.is_match(candidate))
}

// ---------------------------------------------------------------------------------------
// The rules.

#[test]
fn blueprint_loads_with_authentiks_tags_and_entry_keys() {
    for url in PORTAL_URLS {
        let blueprint = resolve(&env_for(url));
        assert!(!blueprint.entries.is_empty(), "no entries");
        for entry in &blueprint.entries {
            for key in &entry.keys {
                assert!(
                    ENTRY_KEYS.contains(&key.as_str()),
                    "entry {} ({}) has key `{key}`, which Authentik's blueprint entries do not have",
                    entry.index,
                    entry.model
                );
            }
            let state = entry.state.str().unwrap_or_default();
            assert!(
                ["present", "created", "must_created", "absent"].contains(&state),
                "entry {} ({}) has state {:?}",
                entry.index,
                entry.model,
                entry.state
            );
        }
    }
    // Defaults alone, as on an Authentik worker that has none of the variables.
    resolve(&[]);
}

#[test]
fn every_redirect_uri_is_exact_or_matches_only_the_portal_origin() {
    for url in PORTAL_URLS {
        let portal = Url::parse(url).unwrap();
        let callback = format!("{url}{CALLBACK_PATH}");
        let blueprint = resolve(&env_for(url));
        let provider = blueprint.only(PROVIDER);
        let Some(Val::Seq(uris)) = provider.get("redirect_uris") else {
            panic!(
                "redirect_uris is not a list of redirect URIs: {:?}",
                provider.get("redirect_uris")
            );
        };
        let mut callback_listed = false;
        for uri in uris {
            for key in uri.keys() {
                assert!(
                    REDIRECT_URI_FIELDS.contains(&key),
                    "redirect URI field `{key}` is not Authentik's: {uri:?}"
                );
            }
            let target = uri
                .field("url")
                .and_then(Val::str)
                .unwrap_or_else(|| panic!("redirect URI without url: {uri:?}"));
            match uri.field("matching_mode").and_then(Val::str) {
                Some("strict") => {
                    let parsed = Url::parse(target).unwrap_or_else(|e| panic!("{target}: {e}"));
                    assert_eq!(
                        parsed.origin(),
                        portal.origin(),
                        "redirect URI {target} is not on the portal's origin {url}"
                    );
                    callback_listed |= target == callback;
                }
                Some("regex") => {
                    if let Some(candidate) = regex_accepts_look_alike(target, &portal) {
                        panic!(
                            "redirect URI regex {target} accepts {candidate}, which is not the portal \
                             ({url}): Authentik would send authorization codes there"
                        );
                    }
                }
                other => panic!("redirect URI matching mode {other:?} is not Authentik's: {uri:?}"),
            }
        }
        assert!(
            callback_listed,
            "the callback {callback} is not an exact redirect URI"
        );
    }
}

#[test]
fn entries_have_only_fields_authentik_knows() {
    let blueprint = resolve(&env_for(PORTAL_URLS[0]));
    for entry in &blueprint.entries {
        let known: &[&str] = match entry.model.as_str() {
            PROVIDER => OAUTH2_PROVIDER_FIELDS,
            APPLICATION => APPLICATION_FIELDS,
            SCOPE_MAPPING => SCOPE_MAPPING_FIELDS,
            GROUP => GROUP_FIELDS,
            APPLY_BLUEPRINT => APPLY_BLUEPRINT_FIELDS,
            FLOW => FLOW_FIELDS,
            BINDING => BINDING_FIELDS,
            IDENTIFICATION => IDENTIFICATION_FIELDS,
            PASSWORD_STAGE => PASSWORD_STAGE_FIELDS,
            VALIDATE => VALIDATE_FIELDS,
            USER_LOGIN => USER_LOGIN_FIELDS,
            other => panic!(
                "entry {} is a {other}; add its serializer's fields to this test",
                entry.index
            ),
        };
        for (field, _) in entry.data() {
            assert!(
                known.contains(&field),
                "{} entry {} sets `{field}`, which Authentik's serializer does not have: \
                 Authentik drops it without a word",
                entry.model,
                entry.index
            );
        }
    }

    let provider = blueprint.only(PROVIDER);
    let choice = |field: &str, allowed: &[&str]| {
        if let Some(value) = provider.get(field) {
            let value = value.str().unwrap_or_default();
            assert!(
                allowed.contains(&value),
                "{field} {value:?} is not one of {allowed:?}"
            );
        }
    };
    choice("client_type", &["confidential", "public"]);
    choice("issuer_mode", &["global", "per_provider"]);
    choice(
        "sub_mode",
        &[
            "hashed_user_id",
            "user_id",
            "user_uuid",
            "user_username",
            "user_email",
            "user_upn",
        ],
    );
    let application = blueprint.only(APPLICATION);
    if let Some(mode) = application.get("policy_engine_mode") {
        assert!(
            ["all", "any"].contains(&mode.str().unwrap_or_default()),
            "policy_engine_mode {mode:?}"
        );
    }
}

#[test]
fn scope_mappings_are_found_by_their_managed_identifiers() {
    let blueprint = resolve(&env_for(PORTAL_URLS[0]));
    let provider = blueprint.only(PROVIDER);
    let Some(Val::Seq(mappings)) = provider.get("property_mappings") else {
        panic!("the provider has no property_mappings list");
    };
    let mut managed = Vec::new();
    for mapping in mappings {
        match mapping {
            Val::Find { model, conditions } if model == SCOPE_MAPPING => {
                match conditions.as_slice() {
                    [(field, Val::Str(value))] if field == "managed" => {
                        managed.push(value.as_str())
                    }
                    _ => panic!(
                        "scope mapping looked up by {conditions:?}: only `managed` names exactly one \
                     (an operator's own mapping can share a scope_name or look like a name)"
                    ),
                }
            }
            Val::KeyOf(id) => {
                let target = blueprint
                    .by_id(id)
                    .unwrap_or_else(|| panic!("!KeyOf {id}: no such entry"));
                assert_eq!(
                    target.model, SCOPE_MAPPING,
                    "!KeyOf {id} in property_mappings"
                );
            }
            other => panic!(
                "property mapping {other:?} is neither a managed scope mapping nor one of this blueprint's"
            ),
        }
    }
    for scope in ["openid", "email", "profile"] {
        let id = format!("goauthentik.io/providers/oauth2/scope-{scope}");
        assert!(
            managed.contains(&id.as_str()),
            "the `{scope}` scope mapping ({id}) is missing"
        );
    }
}

#[test]
fn authentiks_own_blueprints_are_applied_before_their_objects_are_looked_up() {
    let blueprint = resolve(&env_for(PORTAL_URLS[0]));
    let applied: Vec<(usize, String)> = blueprint
        .of_model(APPLY_BLUEPRINT)
        .iter()
        .map(|entry| {
            let name = entry
                .attrs
                .field("identifiers")
                .and_then(|i| i.field("name"))
                .and_then(Val::str)
                .unwrap_or_else(|| {
                    panic!(
                        "metaapplyblueprint entry {} names no blueprint",
                        entry.index
                    )
                });
            // `required` defaults to true: a missing blueprint then fails the import
            // instead of leaving the lookups below empty.
            assert_ne!(
                entry.attrs.field("required"),
                Some(&Val::Bool(false)),
                "blueprint {name} must be required"
            );
            (entry.index, name.to_string())
        })
        .collect();

    let first_other = blueprint
        .entries
        .iter()
        .find(|e| e.model != APPLY_BLUEPRINT)
        .map_or(usize::MAX, |e| e.index);
    for (index, name) in &applied {
        assert!(
            *index < first_other,
            "applying {name} (entry {index}) must come before the blueprint's own entries"
        );
    }

    for entry in &blueprint.entries {
        for lookup in entry.lookups() {
            let Val::Find { model, conditions } = lookup else {
                continue;
            };
            if model == CERTIFICATE {
                assert_eq!(
                    conditions,
                    &[("name".to_string(), Val::Str(SELF_SIGNED.into()))],
                    "the signing key Authentik makes at start-up is the self-signed one"
                );
                continue;
            }
            let [(field, Val::Str(value))] = conditions.as_slice() else {
                panic!("lookup {lookup:?} is not by one identifying field");
            };
            let Some((_, _, _, maker)) = MADE_BY
                .iter()
                .find(|(m, f, v, _)| m == model && f == field && v == value)
            else {
                panic!(
                    "{model} with {field} {value}: which Authentik blueprint makes it? Add it to MADE_BY"
                );
            };
            assert!(
                applied
                    .iter()
                    .any(|(i, name)| name == maker && *i < entry.index),
                "entry {} looks up {model} {value} before applying the blueprint `{maker}` that makes it",
                entry.index
            );
        }
    }
}

#[test]
fn issuer_is_per_provider_and_the_groups_claim_is_mapped() {
    let blueprint = resolve(&env_for(PORTAL_URLS[0]));
    let provider = blueprint.only(PROVIDER);
    assert_eq!(
        provider.get("issuer_mode"),
        Some(&Val::Str("per_provider".into()))
    );
    assert_eq!(
        provider.get("signing_key"),
        Some(&Val::Find {
            model: CERTIFICATE.into(),
            conditions: vec![("name".into(), Val::Str(SELF_SIGNED.into()))],
        }),
        "id_tokens are signed with Authentik's self-signed RSA key (RS256), not the client secret"
    );
    for (field, slug) in [
        (
            "authorization_flow",
            "default-provider-authorization-implicit-consent",
        ),
        ("invalidation_flow", "default-provider-invalidation-flow"),
    ] {
        assert_eq!(
            provider.get(field),
            Some(&Val::Find {
                model: FLOW.into(),
                conditions: vec![("slug".into(), Val::Str(slug.into()))],
            }),
            "{field}"
        );
    }

    // The issuer is <authentik>/application/o/<application slug>/.
    let application = blueprint.only(APPLICATION);
    assert_eq!(
        application.get("slug"),
        Some(&Val::Str("tenant-portal".into()))
    );
    let provider_id = provider.id.clone().expect("the provider entry has an id");
    assert_eq!(application.get("provider"), Some(&Val::KeyOf(provider_id)));

    let groups = blueprint
        .of_model(SCOPE_MAPPING)
        .into_iter()
        .find(|e| e.get("scope_name") == Some(&Val::Str("groups".into())))
        .expect("a scope mapping for the `groups` scope");
    let expression = groups
        .get("expression")
        .and_then(Val::str)
        .unwrap_or_default();
    assert!(
        expression.contains("\"groups\"") && expression.contains("ak_groups"),
        "the groups mapping returns a `groups` claim with the person's group names: {expression}"
    );
    let Some(Val::Seq(mappings)) = provider.get("property_mappings") else {
        panic!("the provider has no property_mappings list");
    };
    let groups_id = groups.id.clone().expect("the groups mapping has an id");
    assert!(
        mappings.contains(&Val::KeyOf(groups_id)),
        "the provider does not use the groups mapping"
    );

    assert!(
        blueprint
            .of_model(GROUP)
            .iter()
            .any(|g| g.get("name") == Some(&Val::Str("portal-super-admin".into()))),
        "the portal-super-admin group"
    );
}

/// The stages bound to the flow of entry `flow_id`, by order.
fn stages_of<'a>(blueprint: &'a Blueprint, flow_id: &str) -> Vec<&'a Entry> {
    let mut bound: Vec<(i64, &Entry)> = blueprint
        .of_model(BINDING)
        .into_iter()
        .filter(|b| b.get("target") == Some(&Val::KeyOf(flow_id.into())))
        .map(|b| {
            let Some(Val::KeyOf(stage)) = b.get("stage") else {
                panic!("binding {} names no stage of this blueprint", b.index);
            };
            let Some(Val::Int(order)) = b.get("order") else {
                panic!("binding {} has no order", b.index);
            };
            let stage = blueprint
                .by_id(stage)
                .unwrap_or_else(|| panic!("no stage {stage}"));
            (*order, stage)
        })
        .collect();
    bound.sort_by_key(|(order, _)| *order);
    bound.into_iter().map(|(_, s)| s).collect()
}

fn strs(v: Option<&Val>) -> Vec<&str> {
    match v {
        Some(Val::Seq(items)) => items.iter().filter_map(Val::str).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn the_providers_sign_in_asks_for_a_second_factor_and_offers_a_passkey_alone() {
    let blueprint = resolve(&env_for(PORTAL_URLS[0]));
    let provider = blueprint.only(PROVIDER);
    let Some(Val::KeyOf(flow_id)) = provider.get("authentication_flow") else {
        panic!("the provider names no authentication flow of this blueprint");
    };
    let flow = blueprint.by_id(flow_id).expect("the authentication flow");
    assert_eq!(flow.model, FLOW);
    assert_eq!(
        flow.get("designation"),
        Some(&Val::Str("authentication".into()))
    );
    let stages = stages_of(&blueprint, flow_id);
    let models: Vec<&str> = stages.iter().map(|s| s.model.as_str()).collect();
    assert_eq!(
        models,
        [IDENTIFICATION, PASSWORD_STAGE, VALIDATE, USER_LOGIN],
        "identification, password, second factor, then the session"
    );
    let second = stages[2];
    let mut classes = strs(second.get("device_classes"));
    classes.sort_unstable();
    assert_eq!(classes, ["totp", "webauthn"]);
    assert_eq!(
        second.get("webauthn_user_verification"),
        Some(&Val::Str("required".into()))
    );

    // "Use a passkey": a flow of a discoverable passkey with user verification alone.
    let Some(Val::KeyOf(pwl)) = stages[0].get("passwordless_flow") else {
        panic!("the identification stage offers no passwordless flow");
    };
    let pwl_stages = stages_of(&blueprint, pwl);
    let models: Vec<&str> = pwl_stages.iter().map(|s| s.model.as_str()).collect();
    assert_eq!(models, [VALIDATE, USER_LOGIN]);
    assert_eq!(strs(pwl_stages[0].get("device_classes")), ["webauthn"]);
    assert_eq!(
        pwl_stages[0].get("webauthn_user_verification"),
        Some(&Val::Str("required".into()))
    );
    for v in blueprint.of_model(VALIDATE) {
        let action = v.get("not_configured_action").and_then(Val::str);
        assert!(
            matches!(action, Some("skip" | "deny")),
            "not_configured_action {action:?}: `configure` would need configuration_stages"
        );
    }
}

#[test]
fn keyof_points_to_an_earlier_entry() {
    let blueprint = resolve(&env_for(PORTAL_URLS[0]));
    for entry in &blueprint.entries {
        for lookup in entry.lookups() {
            if let Val::KeyOf(id) = lookup {
                let target = blueprint
                    .by_id(id)
                    .unwrap_or_else(|| panic!("!KeyOf {id}: no entry has that id"));
                assert!(
                    target.index < entry.index,
                    "!KeyOf {id} in entry {} refers to a later entry; Authentik has not made it yet",
                    entry.index
                );
            }
        }
    }
}

#[test]
fn client_credentials_come_from_the_environment() {
    let blueprint = resolve(&env_for(PORTAL_URLS[0]));
    let provider = blueprint.only(PROVIDER);
    assert_eq!(
        provider.get("client_id"),
        Some(&Val::Str("tenant-portal".into()))
    );
    assert_eq!(
        provider.get("client_secret"),
        Some(&Val::Str("a-long-random-secret".into()))
    );
    assert_eq!(
        provider.get("client_type"),
        Some(&Val::Str("confidential".into()))
    );

    // Without the secret Authentik is handed null and refuses the provider (the README
    // says so): better than a secret nobody knows.
    let blueprint = resolve(&[("PORTAL_BASE_URL", PORTAL_URLS[0])]);
    assert_eq!(
        blueprint.only(PROVIDER).get("client_secret"),
        Some(&Val::Null)
    );
}

#[test]
fn the_regex_rule_tells_an_escaped_pattern_from_a_pasted_url() {
    let portal = Url::parse("https://portal.example.com").unwrap();
    // The portal URL pasted into a pattern: its dots match any character.
    let pasted = r"^https://portal.example.com/t/[a-z0-9-]+/login\?signed_out=1$";
    assert_eq!(
        regex_accepts_look_alike(pasted, &portal).as_deref(),
        Some("https://portal-example.com/t/acme/login?signed_out=1")
    );
    // The same with the dots escaped (the README's logout redirect URI for Authentik 2026.5+).
    let escaped = r"^https://portal\.example\.com/t/[a-z0-9-]+/login\?signed_out=1$";
    assert_eq!(regex_accepts_look_alike(escaped, &portal), None);
    // Unanchored at the end, a longer host still starts like the portal's.
    assert!(regex_accepts_look_alike(r"https://portal\.example\.com", &portal).is_some());
}
