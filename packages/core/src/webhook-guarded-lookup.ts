import type { LookupAddress } from "node:dns";
import type { LookupFunction } from "node:net";
import { GatewayError } from "./errors";
import { forbiddenAddressRange } from "./webhook-address";
import { type HostResolver, policyTrusts, systemResolver, type WebhookUrlPolicy } from "./webhook-url-guard";

/**
 * What a delivery attempt records when the SSRF guard refuses its address, whatever the reason. The
 * deliveries log is read by the client who chose the URL: naming the address, the range or a
 * connection error there would turn a refusal into a probe of the gateway's network (issue #17).
 */
export const SSRF_REFUSED = "refused by the SSRF guard";

/**
 * A `lookup` for the webhook connection (undici `connect.lookup`, passed on to `net.connect`): the name
 * is resolved once more, here, and the socket connects only to an address this lookup has checked.
 * Checking the URL before the request is not enough, since the connection would resolve the name again
 * and a rebinding DNS answers public for the check and loopback for the connect.
 *
 * As in `checkWebhookUrl`, every address must be public (a name that mixes public and private answers
 * is refused whole); hosts the policy trusts are passed through. IP literals never reach a lookup (net
 * connects to them directly); `checkWebhookUrl` judges those.
 */
export function guardedLookup(
  policy: WebhookUrlPolicy,
  resolve: HostResolver = systemResolver,
): LookupFunction {
  return (hostname, options, callback) => {
    const host = hostname.toLowerCase();
    resolve(host).then(
      (answers) => {
        const family = options.family === 4 || options.family === 6 ? options.family : 0;
        const addresses: LookupAddress[] = answers.filter((a) => family === 0 || a.family === family);
        const refused =
          !policyTrusts(policy, host) && answers.some((a) => forbiddenAddressRange(a.address) !== null);
        if (refused || addresses.length === 0) {
          const why = refused ? "resolves to an address that is not public" : "has no usable address";
          const err = new GatewayError("webhook_url_forbidden", `webhook URL refused: ${host} ${why}`);
          callback(err as NodeJS.ErrnoException, "", 0);
          return;
        }
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, "", 0),
    );
  };
}

/** True when `err` (or an error it wraps, as undici wraps connect errors) is an SSRF guard refusal. */
export function isSsrfRefusal(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof GatewayError && e.code === "webhook_url_forbidden") return true;
  }
  return false;
}
