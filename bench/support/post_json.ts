import http from "node:http";

const agent = new http.Agent({ keepAlive: true });

/** POSTs a JSON body over HTTP/1.1 (keep-alive), with any extra headers (a bearer token), and parses the JSON answer. */
export function postJson<T>(
  url: string,
  body: unknown,
  options: { signal?: AbortSignal; headers?: Record<string, string> } = {},
): Promise<T> {
  const { signal, headers } = options;
  return new Promise((resolve, reject) => {
    const data = Buffer.from(JSON.stringify(body));
    const req = http.request(url, {
      method: "POST",
      agent,
      signal,
      headers: { ...headers, "content-type": "application/json", "content-length": data.length },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString();
        if (res.statusCode !== 200) reject(new Error(`POST ${url}: HTTP ${res.statusCode}: ${text}`));
        else resolve(JSON.parse(text) as T);
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(data);
  });
}
