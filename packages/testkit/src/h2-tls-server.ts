import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from "node:http2";
import type { AddressInfo } from "node:net";
import { getCACertificates, setDefaultCACertificates } from "node:tls";

// A self-signed test certificate for localhost and 127.0.0.1, valid until 2126. Its key guards
// nothing: it only lets a loopback server speak TLS, so that ALPN can offer HTTP/2.
const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgEQEKWzWYFr4gAVKA
wle01zquPjS++1VvbXrGx8VLXFahRANCAARmWsJOU8rZ1ysanBqOrLImtnIk0ywV
/YKTfq5+4H5hZxTAx2JQY8hSQJB7L69oCJM3SlBJng2QHqojmYjL+J2L
-----END PRIVATE KEY-----`;
const CERT = `-----BEGIN CERTIFICATE-----
MIIBmjCCAUGgAwIBAgIUHz2vmCDtcYszGyohhlgPG3ZWZrgwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyODAxMDA0NFoYDzIxMjYxMTA0
MDEwMDQ0WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAARmWsJOU8rZ1ysanBqOrLImtnIk0ywV/YKTfq5+4H5hZxTAx2JQY8hS
QJB7L69oCJM3SlBJng2QHqojmYjL+J2Lo28wbTAdBgNVHQ4EFgQUp7ix5y1BWgS7
OkZ3G2tx6DB51HcwHwYDVR0jBBgwFoAUp7ix5y1BWgS7OkZ3G2tx6DB51HcwDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCgYIKoZI
zj0EAwIDRwAwRAIgZUg+gzW4l8E1ssUNG99SKCteGly+6+a1rpBB1qAgYwoCIAJ1
b1KQJOIlJNfZeKkS9xrses/2FPO6usJ0FfINkUYN
-----END CERTIFICATE-----`;

export interface H2TlsServer {
  /** `https://localhost:<port>` */
  url: string;
  /** The HTTP version of every request received, in order ("1.1" or "2.0"). */
  versions: string[];
  close(): Promise<void>;
}

/**
 * A loopback TLS server that offers HTTP/2 first and HTTP/1.1 too (ALPN), as many real servers do,
 * and records which one each client picked. Trusts its certificate process-wide (the default CA
 * list), so clients that take no CA option can reach it; a test file is its own process.
 */
export async function startH2TlsServer(
  answer: (req: Http2ServerRequest, res: Http2ServerResponse) => void = (_req, res) => res.end(),
): Promise<H2TlsServer> {
  if (!getCACertificates("default").includes(CERT)) {
    setDefaultCACertificates([...getCACertificates("default"), CERT]);
  }
  const versions: string[] = [];
  const server = createSecureServer({ key: KEY, cert: CERT, allowHTTP1: true }, (req, res) => {
    versions.push(req.httpVersion);
    answer(req, res);
  });
  await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
  return {
    url: `https://localhost:${(server.address() as AddressInfo).port}`,
    versions,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
