import { startS3 } from "@zimage/testkit/standalone";

/**
 * s3rver in a process of its own, as an S3 server is one: the storage benchmark's client then does not
 * share its event loop with the server. Prints `s3 ready <env as JSON>`; stops on SIGTERM.
 */
const s3 = await startS3({ bucket: "zimage-bench" });
process.stdout.write(`s3 ready ${JSON.stringify({ ...s3.env, dir: s3.dir })}\n`);
process.on("SIGTERM", () => {
  void s3.stop().then(() => process.exit(0));
});
