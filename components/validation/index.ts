// Validation shared by every component and program: the one error type, the shared checks, IPv4
// checks and arithmetic. Re-exports only. The zod building blocks are in "./schema", imported
// directly by the clouds and the stack program; they and the schemas are marked internal (stripped from
// the published declarations), so no declaration a user loads names zod (whose declarations need
// `esModuleInterop` or `skipLibCheck`, which Pulumi's template lacks).
export * from "./config-error";
export * from "./checks";
export * from "./ipv4";
