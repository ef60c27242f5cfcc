import { describe, expect, it } from "vitest";
import { type HostCheckOptions, refusalOf, type RequestFacts } from "../../coordinator/http/host_check.ts";

/** Whether a request with these facts passes, for a coordinator listening as `options` says. */
function passes(facts: Partial<RequestFacts>, options: Partial<HostCheckOptions> = {}): boolean {
  return refusalOf(
    { hosts: [], origin: undefined, localAddress: "127.0.0.1", ...facts },
    { allowedHosts: [], listenHost: "127.0.0.1", schemes: ["http"], ...options },
  ) === null;
}

describe("the Host rules", () => {
  it("on a wildcard listen answer loopback names and the address the connection arrived at, nothing else", () => {
    const wildcard = { listenHost: "0.0.0.0" };
    const lan = { localAddress: "10.0.0.5" };
    expect(passes({ ...lan, hosts: ["10.0.0.5:7070"] }, wildcard)).toBe(true);
    expect(passes({ ...lan, hosts: ["10.0.0.5"] }, wildcard)).toBe(true);
    expect(passes({ ...lan, hosts: ["localhost:7070"] }, wildcard)).toBe(true);
    expect(passes({ ...lan, hosts: ["10.0.0.6:7070"] }, wildcard)).toBe(false);
    expect(passes({ ...lan, hosts: ["tether.example.com"] }, wildcard)).toBe(false);
    expect(
      passes({ ...lan, hosts: ["tether.example.com"] }, {
        ...wildcard,
        allowedHosts: [{ name: "tether.example.com", port: null }],
      }),
    )
      .toBe(true);
  });

  it("on a dual-stack listen see an IPv4 client's address through its IPv6 mapping", () => {
    expect(passes({ localAddress: "::ffff:192.168.1.9", hosts: ["192.168.1.9:7070"] }, { listenHost: "::" })).toBe(
      true,
    );
    expect(passes({ localAddress: "::1", hosts: ["[::1]:7070"] }, { listenHost: "::" })).toBe(true);
  });

  it("on a listen address that is not loopback answer that address, not loopback names", () => {
    const listen = { listenHost: "10.0.0.5", localAddress: "10.0.0.5" };
    expect(passes({ hosts: ["10.0.0.5:7070"] }, listen)).toBe(true);
    expect(passes({ hosts: ["localhost:7070"] }, listen)).toBe(false);
  });

  it("refuse a request that names no host, or two different ones", () => {
    expect(refusalOf(
      { hosts: [], origin: undefined, localAddress: "127.0.0.1" },
      { allowedHosts: [], listenHost: "127.0.0.1", schemes: ["http"] },
    )).toContain("names no host");
    expect(passes({ hosts: ["127.0.0.1:7070", "attacker.example"] })).toBe(false);
    expect(passes({ hosts: ["127.0.0.1:7070 attacker.example"] })).toBe(false);
  });
});

describe("the Origin rules", () => {
  it("allow the coordinator's own origin, the default port left out as browsers do", () => {
    const tls = { schemes: ["https"], allowedHosts: [{ name: "tether.example.com", port: null }] };
    expect(passes({ hosts: ["tether.example.com"], origin: "https://tether.example.com" }, tls)).toBe(true);
    expect(passes({ hosts: ["tether.example.com:443"], origin: "https://tether.example.com" }, tls)).toBe(true);
    expect(passes({ hosts: ["127.0.0.1:7070"], origin: "https://127.0.0.1:7070" }, tls)).toBe(true);
    expect(passes({ hosts: ["127.0.0.1:7070"], origin: "http://127.0.0.1:7070" }, tls)).toBe(false);
  });

  it("behind a TLS proxy, allow the public https origin of a name in --allowed-hosts although the proxy rewrote Host", () => {
    const proxied = { schemes: ["http", "https"], allowedHosts: [{ name: "tether.example.com", port: null }] };
    expect(passes({ hosts: ["127.0.0.1:7070"], origin: "https://tether.example.com" }, proxied)).toBe(true);
    expect(passes({ hosts: ["127.0.0.1:7070"], origin: "https://attacker.example" }, proxied)).toBe(false);
  });
});
