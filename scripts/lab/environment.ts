/** Where the lab runs: whether it can (root, tools), and where the package's files are. */
import { existsSync } from "node:fs";
import * as path from "node:path";

const REQUIRED_TOOLS = ["ip", "nsenter", "wg", "wireguard-go", "vtysh", "ping"];
const FRR_DAEMONS = ["/usr/lib/frr/zebra", "/usr/lib/frr/bgpd"];

/** True when `command` is an executable file on PATH (or /usr/sbin, /sbin). */
export function onPath(command: string): boolean {
    const dirs = (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/sbin"]);
    return dirs.some((dir) => dir !== "" && existsSync(path.join(dir, command)));
}

/**
 * Reasons the lab cannot run here (not root, tools missing); empty when it can.
 * Tests and benchmarks skip with these reasons.
 */
export function labPrerequisiteProblems(): string[] {
    const problems: string[] = [];
    if (typeof process.getuid === "function" && process.getuid() !== 0) {
        problems.push("the lab needs root (network namespaces, mounts, nsenter)");
    }
    const missing = [...REQUIRED_TOOLS.filter((tool) => !onPath(tool)), ...FRR_DAEMONS.filter((file) => !existsSync(file))];
    if (missing.length > 0) {
        problems.push(`missing: ${missing.join(", ")} (Debian packages frr wireguard-tools wireguard-go iproute2 iputils-ping)`);
    }
    return problems;
}

/** The directory holding package.json (works from the sources and from dist/). */
export function packageRoot(start = __dirname): string {
    let dir = start;
    while (!existsSync(path.join(dir, "package.json"))) {
        const parent = path.dirname(dir);
        if (parent === dir) {
            throw new Error(`no package.json above ${start}`);
        }
        dir = parent;
    }
    return dir;
}
