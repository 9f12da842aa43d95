// Reaching machines: the SSH connection, the host scripts as data and their standard input, and
// the one way to run a host script on a machine. Re-exports only.
export * from "./host-command";
export * from "./host-script";
export * from "./ssh";
export * from "./ssh-key";
