import { encodeTime, monotonicFactory } from "ulid";

const ulid = monotonicFactory();

/** Job ids are ULIDs: sortable by creation time, URL-safe, and never all digits (BullMQ rejects those). */
export function newJobId(): string {
  return ulid();
}

const JOB_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** A cheap syntactic check done before any Redis lookup, so odd ids (`../x`, 10 KB strings) never reach storage. */
export function isJobId(value: string): boolean {
  return JOB_ID.test(value);
}

/** The smallest job id created at `ms`: ids sort by time, so time ranges become id ranges. */
export function jobIdFloor(ms: number): string {
  return `${encodeTime(ms, 10)}0000000000000000`;
}
