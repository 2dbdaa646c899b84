// The Node.js peer of the HTTP comparison (benches/http/run.sh): what the
// echo example does for a WeCom app text message, written the way a Node
// user writes it with the field's usual packages:
//
// * @wecom/crypto (WeCom's own package) for msg_signature, decryption and
//   encryption (WeCom doc 加解密方案说明);
// * fast-xml-parser to read the decrypted message and the POST envelope;
// * node:http, one process (Node runs JavaScript on one thread).
//
// POST /wecom/callback?msg_signature=..&timestamp=..&nonce=.. with the
// encrypted envelope: checks msg_signature and the timestamp's age, decrypts,
// checks the receive id (the CorpID), reads the message and answers a text
// reply `echo:text:<Content>` (the echo example's text), encrypted and signed
// in the envelope WeCom expects (Encrypt, MsgSignature, TimeStamp, Nonce).
// Other messages get an empty 200 (the acknowledgement).
//
// No deduplication of MsgIds (the echo example has it): that is in Node's
// favour. Nothing is logged per request (the echo example runs with
// RUST_LOG=warn in the comparison).
//
// Settings: WECOM_BIND (default 127.0.0.1:3002), WECOM_TOKEN,
// WECOM_ENCODING_AES_KEY, WECOM_CORP_ID (defaults: the echo example's, the
// sample values of WeCom doc 加解密方案说明).

import http from 'node:http';
import { randomInt } from 'node:crypto';
import { getSignature, decrypt, encrypt } from '@wecom/crypto';
import { XMLParser } from 'fast-xml-parser';

const token = process.env.WECOM_TOKEN || 'QDG6eK';
const encodingAESKey =
  process.env.WECOM_ENCODING_AES_KEY || 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C';
const corpId = process.env.WECOM_CORP_ID || 'wx5823bf96d3bd56c7';
const [host, port] = (process.env.WECOM_BIND || '127.0.0.1:3002').split(':');

const PATH = '/wecom/callback';
// WeCom's bodies are small; cap what we buffer.
const MAX_BODY = 1024 * 1024;
// Refuse requests stamped more than 5 minutes away from now (replays).
const MAX_AGE_SECONDS = 300;

// Every value as a string: MsgId has 19 digits (beyond a JS number) and
// Content keeps its spaces (fast-xml-parser trims and converts by default).
const parser = new XMLParser({ parseTagValue: false, trimValues: false });

const cdata = (text) => `<![CDATA[${String(text).replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;

function textReply(message, content) {
  const now = Math.floor(Date.now() / 1000);
  return `<xml><ToUserName>${cdata(message.FromUserName)}</ToUserName><FromUserName>${cdata(message.ToUserName)}</FromUserName><CreateTime>${now}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content>${cdata(content)}</Content></xml>`;
}

function sealed(replyXml) {
  const ciphered = encrypt(encodingAESKey, replyXml, corpId);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = String(randomInt(1_000_000_000, 9_999_999_999));
  const signature = getSignature(token, timestamp, nonce, ciphered);
  return `<xml>\n<Encrypt>${cdata(ciphered)}</Encrypt>\n<MsgSignature>${cdata(signature)}</MsgSignature>\n<TimeStamp>${timestamp}</TimeStamp>\n<Nonce>${cdata(nonce)}</Nonce>\n</xml>`;
}

function answer(res, status, body = '') {
  res.writeHead(status, {
    'Content-Type': status === 200 ? 'text/xml; charset=utf-8' : 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

function handle(req, res, body) {
  const url = new URL(req.url, 'http://localhost');
  const signature = url.searchParams.get('msg_signature');
  const timestamp = url.searchParams.get('timestamp');
  const nonce = url.searchParams.get('nonce');
  if (!signature || !timestamp || !nonce) return answer(res, 400, 'missing msg_signature, timestamp or nonce');
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > MAX_AGE_SECONDS) return answer(res, 403, 'stale timestamp');

  let envelope;
  try {
    envelope = parser.parse(body).xml;
  } catch {
    return answer(res, 400, 'bad XML');
  }
  const ciphered = envelope && envelope.Encrypt;
  if (!ciphered) return answer(res, 400, 'no Encrypt');
  if (getSignature(token, timestamp, nonce, ciphered) !== signature) return answer(res, 403, 'bad msg_signature');

  let opened;
  try {
    opened = decrypt(encodingAESKey, ciphered);
  } catch {
    return answer(res, 400, 'cannot decrypt');
  }
  if (opened.id !== corpId) return answer(res, 403, 'bad receive id');

  let message;
  try {
    message = parser.parse(opened.message).xml;
  } catch {
    return answer(res, 400, 'bad message XML');
  }
  if (!message || message.MsgType !== 'text') return answer(res, 200);
  return answer(res, 200, sealed(textReply(message, `echo:text:${message.Content}`)));
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || !req.url.startsWith(PATH) || (req.url.length > PATH.length && req.url[PATH.length] !== '?')) {
    return answer(res, 404, 'not found');
  }
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY) {
      answer(res, 413, 'body too large');
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (size > MAX_BODY) return;
    handle(req, res, Buffer.concat(chunks).toString('utf8'));
  });
});

server.listen(Number(port), host, () => {
  console.log(`wecom-callback node peer listening on http://${host}:${port}${PATH}`);
});
