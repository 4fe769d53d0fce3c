import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';

/**
 * A self-signed certificate for localhost and 127.0.0.1, made with openssl
 * when the tests load, so no private key is kept in the repository.
 */
function makeTestTls(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'twc-smtp-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const TEST_TLS = makeTestTls();

export interface ReceivedMail {
  /** The SMTP envelope, as the server saw it. */
  mailFrom: string;
  rcptTo: string[];
  /** Whether the message came over TLS (STARTTLS here), and who logged in. */
  secure: boolean;
  user: string | undefined;
  headers: Map<string, string>;
  text: string;
  html: string;
}

/** A local SMTP server standing in for the user's mail server. */
export interface SmtpReceiver {
  host: string;
  port: number;
  messages: ReceivedMail[];
  /** While set, every recipient is answered with this SMTP reply code. */
  refuseRecipients: number | undefined;
  close(): Promise<void>;
}

function decodePart(part: string): { type: string; body: string } {
  const split = part.indexOf('\r\n\r\n');
  const head = part.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const body = part.slice(split + 4);
  const type = /content-type:\s*([^;\r\n]+)/i.exec(head)?.[1]?.trim().toLowerCase() ?? 'text/plain';
  const encoding = /content-transfer-encoding:\s*(\S+)/i.exec(head)?.[1]?.toLowerCase();
  if (encoding === 'base64') return { type, body: Buffer.from(body, 'base64').toString('utf8') };
  if (encoding === 'quoted-printable') {
    const bytes = body
      .replace(/=\r\n/g, '')
      .split(/(=[0-9A-F]{2})/)
      .map((piece) =>
        /^=[0-9A-F]{2}$/.test(piece) ? Buffer.from([Number.parseInt(piece.slice(1), 16)]) : Buffer.from(piece),
      );
    return { type, body: Buffer.concat(bytes).toString('utf8') };
  }
  return { type, body };
}

/** Headers, plain-text part and HTML part of a message as nodemailer writes it (multipart/alternative). */
export function parseMessage(raw: string): Pick<ReceivedMail, 'headers' | 'text' | 'html'> {
  const split = raw.indexOf('\r\n\r\n');
  const headers = new Map<string, string>();
  for (const line of raw
    .slice(0, split)
    .replace(/\r\n[ \t]+/g, ' ')
    .split('\r\n')) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  const boundary = /boundary="?([^";]+)"?/.exec(headers.get('content-type') ?? '')?.[1];
  const parts = boundary
    ? raw
        .slice(split + 4)
        .split(`--${boundary}`)
        .slice(1, -1)
        .map((part) => decodePart(part.replace(/^\r\n/, '').replace(/\r\n$/, '')))
    : [decodePart(raw)];
  return {
    headers,
    text: parts.find((part) => part.type === 'text/plain')?.body ?? '',
    html: parts.find((part) => part.type === 'text/html')?.body ?? '',
  };
}

/**
 * Starts on 127.0.0.1, port 0. With `tls` it offers STARTTLS; with `users` it
 * requires a login and checks the password (over TLS only, smtp-server's rule).
 */
export async function startSmtpReceiver(
  options: { tls?: { key: string; cert: string }; users?: Record<string, string> } = {},
): Promise<SmtpReceiver> {
  const receiver: SmtpReceiver = {
    host: '127.0.0.1',
    port: 0,
    messages: [],
    refuseRecipients: undefined,
    close: async () => {},
  };
  const server = new SMTPServer({
    logger: false,
    ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : { disabledCommands: ['STARTTLS'] }),
    authOptional: !options.users,
    onAuth(auth, _session, callback) {
      if (options.users && options.users[auth.username ?? ''] === auth.password) {
        callback(null, { user: auth.username });
        return;
      }
      callback(new Error('Invalid username or password'));
    },
    onRcptTo(_address, _session, callback) {
      if (receiver.refuseRecipients === undefined) {
        callback();
        return;
      }
      callback(Object.assign(new Error('Mailbox unavailable'), { responseCode: receiver.refuseRecipients }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const mailFrom = session.envelope.mailFrom;
        receiver.messages.push({
          mailFrom: mailFrom ? mailFrom.address : '',
          rcptTo: session.envelope.rcptTo.map((recipient) => recipient.address),
          secure: session.secure,
          user: session.user as string | undefined,
          ...parseMessage(Buffer.concat(chunks).toString('utf8')),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.port = (server.server.address() as AddressInfo).port;
  receiver.close = () => new Promise((resolve) => server.close(() => resolve()));
  return receiver;
}
