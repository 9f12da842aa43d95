/**
 * The "holder" of a lab node: a process that lives in the node's network namespace and in a
 * private mount namespace where the node's own directories are mounted over the paths FRR and
 * WireGuard use. Every command for the node enters both namespaces with
 * `nsenter -t <holder pid> -m -n`, so each node has its own /etc/frr, /run/frr (FRR sockets),
 * /etc/wireguard, /run/wireguard (wireguard-go's control socket, which would otherwise clash
 * between nodes) and /var/log/frr, while running the packaged binaries unchanged.
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, promises as fs } from "node:fs";
import * as path from "node:path";
import { LAB_RUN_VARIABLE } from "./naming";
import { runOk, waitUntil } from "./process";

/** The script the holder runs; its arguments are the node directory (`$1`) and the lab's name (`$2`). */
const HOLDER_SCRIPT = [
    "set -e",
    "mkdir -p /run/wireguard /run/frr /etc/frr /etc/wireguard /var/log/frr",
    'mount -t tmpfs -o mode=0755 "$2-wireguard" /run/wireguard',
    'mount -t tmpfs -o mode=0755 "$2-frr" /run/frr',
    "chown frr:frr /run/frr",
    'mount --bind "$1/etc-frr" /etc/frr',
    'mount --bind "$1/etc-wireguard" /etc/wireguard',
    'mount --bind "$1/log-frr" /var/log/frr',
    ': > "$1/holder.ready"',
    "exec sleep infinity",
].join("\n");

/**
 * Prepares `nodeDir` (etc-frr and log-frr owned by frr, etc-wireguard 0700), starts the holder
 * in `netns` (`ip netns exec` gives it a fresh mount namespace) and resolves with its pid once
 * its mounts are in place. It carries the lab's name in its environment and its tmpfs sources
 * (`<lab>-wireguard`, `<lab>-frr`). Its output goes to `<nodeDir>/holder.log`.
 */
export async function startHolder(labName: string, netns: string, nodeDir: string): Promise<number> {
    const frr = { uid: Number((await runOk(["id", "-u", "frr"])).trim()), gid: Number((await runOk(["id", "-g", "frr"])).trim()) };
    for (const sub of ["etc-frr", "log-frr"]) {
        await fs.mkdir(path.join(nodeDir, sub), { recursive: true });
        await fs.chown(path.join(nodeDir, sub), frr.uid, frr.gid);
    }
    await fs.mkdir(path.join(nodeDir, "etc-wireguard"), { recursive: true, mode: 0o700 });
    // vtysh reads vtysh.conf; an empty one keeps it quiet (a real host has the packaged file).
    await fs.writeFile(path.join(nodeDir, "etc-frr", "vtysh.conf"), "");
    // A ready file of an earlier holder would let commands in before this one's mounts exist.
    await fs.rm(path.join(nodeDir, "holder.ready"), { force: true });
    const logFd = openSync(path.join(nodeDir, "holder.log"), "a");
    let pid: number | undefined;
    try {
        const child = spawn("ip", ["netns", "exec", netns, "sh", "-c", HOLDER_SCRIPT, `${labName}-holder`, nodeDir, labName], {
            detached: true,
            stdio: ["ignore", logFd, logFd],
            env: { ...process.env, [LAB_RUN_VARIABLE]: labName },
        });
        child.unref();
        pid = child.pid;
    } finally {
        closeSync(logFd);
    }
    if (pid === undefined) {
        throw new Error(`could not start the holder of ${netns}`);
    }
    await waitUntil(
        `the holder of ${netns} (see ${nodeDir}/holder.log)`,
        async () => existsSync(path.join(nodeDir, "holder.ready")),
        10_000,
        20,
    );
    return pid;
}
