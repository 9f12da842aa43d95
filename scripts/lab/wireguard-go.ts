/**
 * Which wireguard-go the lab runs. `scripts/setup.sh` installs Debian trixie's wireguard-go (with
 * TUN offloads: GSO/GRO, from wireguard-go 0.0.20230223) as the lab's own program
 * (`install-wireguard-go.sh`); the lab takes it when it is there, else `wireguard-go` on PATH (the
 * distribution's). `ONEEDGE_LAB_WIREGUARD_GO` or {@link LabOptions.wireguardGo} choose another one.
 * Hosts whose kernel has the WireGuard module use that instead (wireguard-up.sh decides).
 */
import { existsSync, promises as fs } from "node:fs";
import * as path from "node:path";
import { run } from "./process";

/** Where `install-wireguard-go.sh` puts the lab's wireguard-go (its default LAB_WIREGUARD_GO_DIR). */
export const LAB_WIREGUARD_GO_DIR = "/usr/local/lib/oneedge-lab/bin";
/** The lab's own wireguard-go program. */
export const LAB_WIREGUARD_GO = path.join(LAB_WIREGUARD_GO_DIR, "wireguard-go");
/** Environment variable naming the wireguard-go program the lab runs (a path or a name on PATH). */
export const WIREGUARD_GO_VARIABLE = "ONEEDGE_LAB_WIREGUARD_GO";

/**
 * The wireguard-go program a lab runs: `explicit`, else `$ONEEDGE_LAB_WIREGUARD_GO`, else the one
 * setup.sh installed when it is there, else `wireguard-go` (found on PATH by wireguard-up.sh).
 */
export function chooseWireguardGo(explicit?: string, environment: NodeJS.ProcessEnv = process.env, installed = LAB_WIREGUARD_GO): string {
    const chosen = explicit ?? environment[WIREGUARD_GO_VARIABLE] ?? (existsSync(installed) ? installed : "wireguard-go");
    if (!/^(\/[A-Za-z0-9_.+/-]+|[A-Za-z0-9_.+-]+)$/.test(chosen)) {
        throw new Error(`wireguardGo (or ${WIREGUARD_GO_VARIABLE}) must be a program name or an absolute path (got "${chosen}")`);
    }
    return chosen;
}

/** What a wireguard-go program is. */
export interface WireguardGoProgram {
    /** Absolute path of the program. */
    path: string;
    /** The version it reports (`wireguard-go --version`), e.g. `0.0.20230223`. */
    version: string;
    /** The Debian package version it was taken from, when install-wireguard-go.sh installed it. */
    debianVersion?: string;
}

/** Reads a program's version (and, for the lab's own, the Debian version recorded beside it). */
export async function describeWireguardGo(programPath: string): Promise<WireguardGoProgram> {
    const result = await run([programPath, "--version"], { timeoutMs: 10_000 });
    const version = /^wireguard-go v(\S+)/.exec(result.stdout)?.[1];
    if (version === undefined) {
        throw new Error(
            `${programPath} --version printed no wireguard-go version: ${(result.stdout + result.stderr).trim().slice(0, 200)}`,
        );
    }
    const record = await fs.readFile(path.join(path.dirname(programPath), "wireguard-go.version"), "utf8").catch(() => "");
    const debianVersion = record.trim().split(/\s+/)[0];
    return { path: programPath, version, ...(debianVersion ? { debianVersion } : {}) };
}

/** How a node runs its WireGuard interface. */
export interface WireGuardInUse {
    /** `kernel` (the module) or `wireguard-go` (userspace). */
    implementation: "kernel" | "wireguard-go";
    /** The running wireguard-go program; absent with kernel WireGuard. */
    program?: WireguardGoProgram;
    /** The wireguard-go process. */
    pid?: number;
    /**
     * TUN offloads on: the TUN device exchanges virtio-net headers with wireguard-go (`vnet_hdr on`),
     * so TCP segments travel as GSO/GRO super-packets between the kernel and wireguard-go. Always
     * true for kernel WireGuard, which segments and merges inside the kernel.
     */
    offloads: boolean;
}

/** One line for `status` and the benchmark: which WireGuard, which version, offloads on or off. */
export function formatWireGuardInUse(inUse: WireGuardInUse): string {
    if (inUse.implementation === "kernel") {
        return "kernel WireGuard";
    }
    const program = inUse.program;
    const debian = program?.debianVersion === undefined ? "" : `, Debian ${program.debianVersion}`;
    return `wireguard-go ${program?.version ?? "?"} (${program?.path ?? "?"}${debian}), TUN offloads ${inUse.offloads ? "on" : "off"}`;
}

/** True when `ip -d link show` of a TUN device says it carries virtio-net headers (`vnet_hdr on`). */
export function tunHasOffloads(ipDetails: string): boolean {
    return /\bvnet_hdr on\b/.test(ipDetails);
}
