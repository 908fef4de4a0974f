// A stand-in for Authentik's key set during `scripts/bench-api`: an RSA key made at
// start, its JWKS at GET /jwks, and GET /token/<slug> returning a JWT access token
// for that organization's admin, signed as Authentik signs (RS256, iss, aud, groups).
// Node's standard library only. Usage: node scripts/bench-keyserver.mjs PORT
import { createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';

const port = Number(process.argv[2]);
const issuer = `http://127.0.0.1:${port}/application/o/bench/`;
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const kid = randomBytes(8).toString('hex');
const jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }] };

function token(slug) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: issuer, aud: 'bench-client', sub: `bench-${slug}`, iat: now, exp: now + 3600,
    email: `api@${slug}.example.com`, email_verified: true, name: 'API Bench',
    groups: [`tenant-${slug}-admin`],
  };
  const input = `${b64({ alg: 'RS256', typ: 'JWT', kid })}.${b64(claims)}`;
  return `${input}.${createSign('RSA-SHA256').update(input).sign(privateKey).toString('base64url')}`;
}

http.createServer((req, res) => {
  const m = req.url.match(/^\/token\/([a-z0-9-]+)$/);
  if (req.url === '/jwks') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
  else if (m) res.writeHead(200, { 'content-type': 'text/plain' }).end(token(m[1]));
  else res.writeHead(404).end();
}).listen(port, '127.0.0.1');
