// A client that is not the app: written from API.md and docs/visit-document.md with the
// official JS Automerge package, it signs in as a monitor, discovers the packs, creates a visit
// and syncs it to the real server; then it tries every kind of invalid value the schema rules
// out and checks the server refuses each one and keeps the visit as it was.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import * as A from '@automerge/automerge';

const BASE = process.env.ACCREDIT_URL ?? 'http://127.0.0.1:8080';
const SYNC_TYPE = 'application/vnd.accredit.sync';
const RESULT_NAMESPACE = '6a1c53f2-9d0e-4b7a-8c15-2f4e7b90d3a1';

// --- UUIDs ---------------------------------------------------------------------------------

function uuidBytes(uuid) {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

function uuidText(bytes) {
  const h = Buffer.from(bytes).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** UUID version 5 (RFC 4122): SHA-1 of namespace and name, version and variant bits set. */
function uuidV5(namespace, name) {
  const hash = createHash('sha1').update(uuidBytes(namespace)).update(Buffer.from(name, 'utf8')).digest();
  const b = hash.subarray(0, 16);
  b[6] = (b[6] & 0x0f) | 0x50;
  b[8] = (b[8] & 0x3f) | 0x80;
  return uuidText(b);
}

/** The key of a criterion's result map, as docs/visit-document.md defines it. */
function resultKey(packId, version, criterion) {
  return uuidV5(RESULT_NAMESPACE, `${packId}@${version}/${criterion}`);
}

// --- HTTP and the sync wire format -----------------------------------------------------------

async function api(method, path, token, body) {
  const r = await fetch(`${BASE}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

function encodeRequest(docId, message) {
  const msg = message ? Buffer.from(message) : Buffer.alloc(0);
  const head = Buffer.alloc(4 + 1 + 4 + 16 + 2 + 4);
  head.write('ACQ1', 0, 'ascii');
  head.writeUInt8(0, 4); // flags: only the documents named
  head.writeUInt32BE(1, 5);
  uuidBytes(docId).copy(head, 9);
  head.writeUInt16BE(0, 25); // no receipt: ask for a full exchange
  head.writeUInt32BE(msg.length, 27);
  return Buffer.concat([head, msg]);
}

function decodeResponse(buf) {
  assert.equal(buf.subarray(0, 4).toString('ascii'), 'ACR1');
  let at = 4;
  const count = buf.readUInt32BE(at);
  at += 4;
  const docs = [];
  for (let i = 0; i < count; i++) {
    const docId = uuidText(buf.subarray(at, at + 16));
    at += 16;
    const outcome = ['ok', 'forbidden', 'rejected'][buf.readUInt8(at)];
    at += 1;
    const reasonLen = buf.readUInt16BE(at);
    at += 2;
    const reason = buf.subarray(at, at + reasonLen).toString('utf8');
    at += reasonLen;
    const headCount = buf.readUInt16BE(at);
    at += 2;
    const heads = [];
    for (let h = 0; h < headCount; h++) {
      heads.push(buf.subarray(at, at + 32).toString('hex'));
      at += 32;
    }
    const msgLen = buf.readUInt32BE(at);
    at += 4;
    const message = msgLen ? new Uint8Array(buf.subarray(at, at + msgLen)) : null;
    at += msgLen;
    docs.push({ docId, outcome, reason, heads, message });
  }
  assert.equal(at, buf.length, 'no trailing bytes');
  return docs;
}

/**
 * Syncs one document until neither side has anything to say. Returns the document (with what
 * the server sent), the sync state, and the first refusal if there was one. The server keeps
 * only the durable part of each sync state between requests, so it may always have a message
 * of heads to send; the loop stops when this side has nothing to send and the server's receipt
 * (the heads it holds) equals this side's heads.
 */
async function syncDoc(token, docId, doc, state) {
  let refusal = null;
  for (let round = 0; round < 20; round++) {
    let message;
    [state, message] = A.generateSyncMessage(doc, state);
    const r = await fetch(`${BASE}/api/v1/sync`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': SYNC_TYPE },
      body: encodeRequest(docId, message),
    });
    assert.equal(r.status, 200, await r.clone().text());
    const [reply] = decodeResponse(Buffer.from(await r.arrayBuffer()));
    if (reply.outcome !== 'ok') {
      refusal = refusal ?? reply;
      return { doc, state, refusal };
    }
    if (reply.message) {
      [doc, state] = A.receiveSyncMessage(doc, state, reply.message);
    }
    const mine = A.getHeads(doc).slice().sort();
    const theirs = reply.heads.slice().sort();
    const same = mine.length === theirs.length && mine.every((h, i) => h === theirs[i]);
    if (!message && (same || !reply.message)) {
      return { doc, state, refusal };
    }
  }
  throw new Error('the sync loop did not settle in 20 rounds');
}

// --- The visit document ----------------------------------------------------------------------

function criteriaOf(pack) {
  return pack.domains.flatMap((d) => d.standards.flatMap((s) => s.criteria));
}

const S = (text) => new A.ImmutableString(text);

/** A new visit as docs/visit-document.md lays it out; `omit` drops parts to test refusals. */
function newVisit({ session, pack, locationId, actor, omitResults = false }) {
  const visitId = randomUUID();
  const author = { user_id: S(session.user_id), name: S(session.name) };
  let doc = A.init({ actor });
  doc = A.change(doc, 'create visit', (d) => {
    d.schema = new A.Uint(1);
    d.visit_id = S(visitId);
    d.location_id = S(locationId);
    d.pack_id = S(pack.id);
    d.pack_version = S(pack.version);
    d.visit_type = S('annual');
    d.announced = true;
    d.started_at = S(new Date().toISOString());
    d.created_by = { ...author };
    d.officers = { [session.user_id]: S(session.name) };
    d.authors = { [actor]: { ...author } };
    d.results = {};
    if (!omitResults) {
      for (const c of criteriaOf(pack)) {
        d.results[resultKey(pack.id, pack.version, c.id)] = { criterion: S(c.id), notes: '' };
      }
    }
    d.evidence = {};
    d.photos = {};
    d.actions = {};
    d.resolutions = {};
  });
  return { visitId, doc };
}

function actorId() {
  return randomBytes(16).toString('hex');
}

/**
 * An edit as a device makes it: a fresh actor (never reuse one in two live copies), registered
 * in `authors` under the signed-in user in the same change, so the server can name who wrote it.
 */
function edit(doc, session, what, fn) {
  const actor = actorId();
  return A.change(A.clone(doc, { actor }), what, (d) => {
    d.authors[actor] = { user_id: S(session.user_id), name: S(session.name) };
    fn(d);
  });
}

async function signIn(username) {
  const r = await api('POST', '/api/v1/session', null, {
    username,
    password: 'accredit-demo',
    device_name: 'automerge-js test client',
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

/** The server's copy of a visit, pulled into an empty document by a fresh sync state. */
async function serverCopy(token, visitId) {
  const { doc } = await syncDoc(token, visitId, A.init({ actor: actorId() }), A.initSyncState());
  return doc;
}

test('a visit made with the JS Automerge package syncs, and every invalid value is refused', async () => {
  const session = await signIn('monitor1');
  const token = session.token;

  const packs = await api('GET', '/api/v1/packs', token);
  assert.equal(packs.status, 200);
  const summary = packs.body.packs.find((p) => p.id === 'cqc-quality-statements');
  assert.ok(summary, 'the default pack is listed');
  const pack = (await api('GET', summary.href, token)).body;
  const criteria = criteriaOf(pack);
  assert.equal(criteria.length, summary.criteria);
  const first = criteria[0];
  const firstKey = resultKey(pack.id, pack.version, first.id);

  const locations = (await api('GET', '/api/v1/locations', token)).body.locations;
  const seaview = locations.find((l) => l.name === 'Seaview House');
  assert.ok(seaview, 'Seaview House is on monitor1\'s caseload');

  // A valid visit with one score is stored.
  const actor = actorId();
  let { visitId, doc } = newVisit({ session, pack, locationId: seaview.id, actor });
  doc = A.change(doc, 'score', (d) => {
    d.results[firstKey].answer = S(String(first.scale?.max ?? 4));
  });
  let state = A.initSyncState();
  let out = await syncDoc(token, visitId, doc, state);
  assert.equal(out.refusal, null, out.refusal?.reason);
  ({ doc, state } = out);
  const stored = await serverCopy(token, visitId);
  assert.equal(String(stored.results[firstKey].answer), String(first.scale?.max ?? 4));

  // Each invalid edit is refused, with a reason, and the server keeps the visit as it was.
  const attempts = [
    ['a score above the scale', (d) => { d.results[firstKey].answer = S('99'); }, /outside the scale/],
    ['a negative score', (d) => { d.results[firstKey].answer = S('-5'); }, /outside the scale/],
    ['a score as a number, not its text', (d) => { d.results[firstKey].answer = 3; }, /answer/],
    ['an unknown word as an answer', (d) => { d.results[firstKey].answer = S('brilliant'); }, /answer/],
    ['a result for a criterion not in the pack', (d) => {
      d.results[randomUUID()] = { criterion: S('Z.99'), notes: '' };
    }, /not in framework pack/],
    ['a criterion\'s result removed', (d) => { delete d.results[firstKey]; }, /cannot be removed|has no result/],
    ['the visit moved to another location', (d) => { d.location_id = S(randomUUID()); }, /location/],
    ['an action without a description', (d) => {
      d.actions[randomUUID()] = { priority: S('high'), description: '', owner: S(''), status: S('open') };
    }, /description/],
  ];
  for (const [what, change, reason] of attempts) {
    const bad = edit(doc, session, what, change);
    const r = await syncDoc(token, visitId, bad, A.initSyncState());
    assert.ok(r.refusal, `${what}: refused`);
    assert.equal(r.refusal.outcome, 'rejected', what);
    assert.match(r.refusal.reason, reason, `${what}: ${r.refusal.reason}`);
    const now = await serverCopy(token, visitId);
    assert.deepEqual(A.getHeads(now).sort(), A.getHeads(stored).sort(), `${what}: nothing stored`);
  }

  // An invalid value written concurrently with a valid one is refused whichever wins.
  for (const badValue of [3, S('excellent'), S('7')]) {
    const left = edit(doc, session, 'valid', (d) => {
      d.results[firstKey].answer = S('2');
    });
    const right = edit(doc, session, 'invalid', (d) => {
      d.results[firstKey].answer = badValue;
    });
    const merged = A.merge(left, right);
    const r = await syncDoc(token, visitId, merged, A.initSyncState());
    assert.equal(r.refusal?.outcome, 'rejected', `concurrent ${badValue}`);
    const now = await serverCopy(token, visitId);
    assert.deepEqual(A.getHeads(now).sort(), A.getHeads(stored).sort());
  }

  // A change nobody is registered for, or registered to someone else, is refused.
  const anonymous = A.change(A.clone(doc, { actor: actorId() }), 'unsigned', (d) => {
    d.results[firstKey].notes = 'who wrote this?';
  });
  let refused = await syncDoc(token, visitId, anonymous, A.initSyncState());
  assert.match(refused.refusal?.reason ?? '', /has no author/);
  const impostor = edit(doc, { user_id: randomUUID(), name: 'Someone Else' }, 'impostor', (d) => {
    d.results[firstKey].notes = 'not me';
  });
  refused = await syncDoc(token, visitId, impostor, A.initSyncState());
  assert.match(refused.refusal?.reason ?? '', /not to the signed-in user/);

  // A new visit without its pre-created results is refused and not stored.
  const empty = newVisit({ session, pack, locationId: seaview.id, actor: actorId(), omitResults: true });
  const r = await syncDoc(token, empty.visitId, empty.doc, A.initSyncState());
  assert.equal(r.refusal?.outcome, 'rejected');
  assert.match(r.refusal.reason, /has no result/);
  const nothing = await serverCopy(token, empty.visitId);
  assert.deepEqual(A.getHeads(nothing), [], 'the server holds no such visit');
});
