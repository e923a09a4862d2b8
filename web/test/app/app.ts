// Another app's use of the TypeScript client, as web/README.md documents it: installed from the
// packed @leverage/client, type-checked by tsc in strict mode, then run by
// crates/leverage/tests/web_build.rs against a real server, which compares what it prints with
// tonic's answers.

import { createLeverage, refusalOf, type Holding } from "@leverage/client";

declare const process: { env: Record<string, string | undefined> };

const api = createLeverage(process.env.LEVERAGE_URL ?? "http://127.0.0.1:50051", { compression: "gzip" });

const holdings: Holding[] = [];
let pageToken = "";
do {
  const page = await api.assets.listHoldings({ pageSize: 7, pageToken });
  holdings.push(...page.holdings);
  pageToken = page.nextPageToken;
} while (pageToken);

const refused = await api.assets.getHolding({ name: "holdings/no-such-holding" }).then(
  () => null,
  (e: unknown) => refusalOf(e),
);

console.log(JSON.stringify({ names: holdings.map((h) => h.name), refused }));
