// Validation shared by every component and program: the one error type, the shared checks, IPv4
// checks and arithmetic, and the zod building blocks. Re-exports only.
export * from "./config-error";
export * from "./checks";
export * from "./ipv4";
export * from "./schema";
