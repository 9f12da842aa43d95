/**
 * The host scripts that install software or touch files, run for real against a temporary
 * HOST_ROOT (no network, no packages): opennebula-repo.sh, opennebula-node.sh (plan mode),
 * oneadmin-key.sh, and the stdin environment transport every script is run with.
 */
import { strict as assert } from "assert";
import { generateKeyPairSync } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { oneadminKeyScript, opennebulaNodeScript, opennebulaRepoScript } from "../../components/edge/host-scripts";
import type { HostScript } from "../../components/remote/host-script";
import { toStdin } from "../../components/remote/host-script";
import type { Result } from "./netns";
import { run } from "./netns";

/** Runs a script as a component would (`bash -s` fed by `toStdin`), with extra variables. */
function runHostScript(script: HostScript, extra: Record<string, string> = {}): Result {
    return run("bash", ["-s"], { input: toStdin({ ...script, environment: { ...script.environment, ...extra } }) });
}

function mustRun(script: HostScript, extra: Record<string, string> = {}): string {
    const result = runHostScript(script, extra);
    assert.equal(result.status, 0, `${script.name}: ${result.stderr}`);
    return result.stdout;
}

/** A fresh OpenSSH ed25519 public key line. */
function ed25519PublicKey(comment: string): string {
    const raw = generateKeyPairSync("ed25519").publicKey.export({ format: "der", type: "spki" }).subarray(-32);
    const field = (bytes: Buffer) => {
        const length = Buffer.alloc(4);
        length.writeUInt32BE(bytes.length);
        return Buffer.concat([length, bytes]);
    };
    return `ssh-ed25519 ${Buffer.concat([field(Buffer.from("ssh-ed25519")), field(raw)]).toString("base64")} ${comment}`;
}

function write(file: string, content: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
}

const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

describe("host scripts against a temporary root", function () {
    this.timeout(30_000);
    let root: string;

    beforeEach(function () {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "hst-root-"));
    });

    afterEach(function () {
        fs.rmSync(root, { recursive: true, force: true });
    });

    function osRelease(id: string, version: string): void {
        write(path.join(root, "etc/os-release"), `PRETTY_NAME="${id} ${version}"\nID=${id}\nVERSION_ID="${version}"\n`);
    }

    describe("toStdin + env-loader.sh", function () {
        it("delivers values byte for byte, as data, with stdin closed for the script", function () {
            const out = path.join(root, "out");
            const tricky = `a b $(touch ${root}/pwned) \`id\` "q" 'q' \\ ; | & * ~ é 🚀\nsecond line\ttab\n\n`;
            const script: HostScript = {
                name: "probe.sh",
                script: [
                    "#!/usr/bin/env bash",
                    "set -euo pipefail",
                    'printf "%s" "$TRICKY" > "$OUT"',
                    'printf "[%s]" "$EMPTY" >> "$OUT"',
                    'if read -r _; then echo "stdin was not empty"; exit 1; fi',
                ].join("\n"),
                environment: { TRICKY: tricky, EMPTY: "", OUT: out },
            };
            mustRun(script);
            assert.equal(fs.readFileSync(out, "utf8"), `${tricky}[]`);
            assert.ok(!fs.existsSync(path.join(root, "pwned")), "nothing in a value was executed");
        });

        it("fails loudly on truncated input instead of running nothing", function () {
            const stdin = toStdin({ name: "x.sh", script: "#!/usr/bin/env bash\necho ran\n", environment: { A: "1" } });
            for (const truncated of [stdin.slice(0, stdin.indexOf("\n--\n") + 1), stdin.slice(0, stdin.indexOf("\n--\n") + 4)]) {
                const result = run("bash", ["-s"], { input: truncated });
                assert.equal(result.status, 2);
                assert.match(result.stderr, /env-loader: truncated input/);
                assert.doesNotMatch(result.stdout, /ran/);
            }
            assert.equal(run("bash", ["-s"], { input: stdin }).stdout, "ran\n");
        });

        it("refuses variable names that are not shell-safe", function () {
            const script: HostScript = { name: "x.sh", script: "#!/usr/bin/env bash\n", environment: { "BAD NAME": "x" } };
            assert.throws(() => toStdin(script), /environment variable name "BAD NAME"/);
        });
    });

    describe("opennebula-repo.sh", function () {
        const cases: Array<[string, string, "6.10" | "7.0", string]> = [
            ["ubuntu", "22.04", "6.10", "https://downloads.opennebula.io/repo/6.10/Ubuntu/22.04"],
            ["ubuntu", "24.04", "6.10", "https://downloads.opennebula.io/repo/6.10/Ubuntu/24.04"],
            ["ubuntu", "24.04", "7.0", "https://downloads.opennebula.io/repo/7.0/Ubuntu/24.04"],
            ["debian", "12", "7.0", "https://downloads.opennebula.io/repo/7.0/Debian/12"],
        ];
        for (const [id, version, one, url] of cases) {
            it(`prints the repository of OpenNebula ${one} for ${id} ${version} without network`, function () {
                osRelease(id, version);
                const printed = mustRun(opennebulaRepoScript({ version: one }), { HOST_ROOT: root, ONE_REPO_PRINT_ONLY: "1" });
                assert.equal(
                    printed,
                    [
                        `ONE_REPO_URL=${url}`,
                        "ONE_REPO_KEY_URL=https://downloads.opennebula.io/repo/repo2.key",
                        "ONE_REPO_KEYRING=/etc/apt/keyrings/opennebula.gpg",
                        "ONE_REPO_LIST=/etc/apt/sources.list.d/opennebula.list",
                        `ONE_REPO_LINE=deb [signed-by=/etc/apt/keyrings/opennebula.gpg] ${url} stable opennebula`,
                        "",
                    ].join("\n"),
                );
                assert.deepEqual(fs.readdirSync(root), ["etc"]);
                assert.deepEqual(fs.readdirSync(path.join(root, "etc")), ["os-release"], "print mode writes nothing");
            });
        }

        it("writes the sources list once; a re-run changes nothing", function () {
            osRelease("ubuntu", "22.04");
            // An existing keyring: the key is not downloaded again.
            write(path.join(root, "etc/apt/keyrings/opennebula.gpg"), "keyring");
            const first = mustRun(opennebulaRepoScript(), { HOST_ROOT: root });
            assert.match(first, /wrote .*\/etc\/apt\/sources\.list\.d\/opennebula\.list/);
            const list = path.join(root, "etc/apt/sources.list.d/opennebula.list");
            const content = fs.readFileSync(list, "utf8");
            assert.match(
                content,
                /^deb \[signed-by=\/etc\/apt\/keyrings\/opennebula\.gpg\] https:\/\/downloads\.opennebula\.io\/repo\/6\.10\/Ubuntu\/22\.04 stable opennebula$/m,
            );
            const mtime = fs.statSync(list).mtimeMs;

            const second = mustRun(opennebulaRepoScript(), { HOST_ROOT: root });
            assert.doesNotMatch(second, /wrote/);
            assert.equal(fs.readFileSync(list, "utf8"), content);
            assert.equal(fs.statSync(list).mtimeMs, mtime);
            assert.equal(fs.readFileSync(path.join(root, "etc/apt/keyrings/opennebula.gpg"), "utf8"), "keyring");
        });

        it("rejects other versions and systems, naming the variable", function () {
            osRelease("ubuntu", "22.04");
            const version = runHostScript(opennebulaRepoScript(), { HOST_ROOT: root, ONE_VERSION: "6.8", ONE_REPO_PRINT_ONLY: "1" });
            assert.notEqual(version.status, 0);
            assert.match(version.stderr, /ONE_VERSION must be 6\.10 or 7\.0 \(got '6\.8'\)/);

            osRelease("ubuntu", "20.04");
            const system = runHostScript(opennebulaRepoScript(), { HOST_ROOT: root, ONE_REPO_PRINT_ONLY: "1" });
            assert.notEqual(system.status, 0);
            assert.match(system.stderr, /unsupported system 'ubuntu 20\.04'/);
        });
    });

    describe("opennebula-node.sh", function () {
        it("plans opennebula-node-kvm for kvm and qemu, opennebula-node-lxc for lxc", function () {
            const plan = (hypervisor: "kvm" | "qemu" | "lxc", kvmNested?: boolean) =>
                mustRun(opennebulaNodeScript({ hypervisor, kvmNested }), { ONE_NODE_PRINT_ONLY: "1" });
            assert.match(plan("kvm"), /^package=opennebula-node-kvm$/m);
            assert.doesNotMatch(plan("kvm"), /modprobe/, "module options left alone by default");
            assert.match(plan("kvm", true), /^modprobe: options kvm_intel nested=1$/m);
            assert.match(plan("kvm", false), /^modprobe: options kvm_amd +nested=0$/m);
            assert.match(plan("qemu"), /^package=opennebula-node-kvm$/m);
            assert.match(plan("qemu"), /^service=libvirtd$/m);
            assert.equal(plan("lxc"), "package=opennebula-node-lxc\n");
        });

        it("rejects unknown hypervisors and nested settings outside kvm, naming the variable", function () {
            const xen = runHostScript(opennebulaNodeScript({ hypervisor: "kvm" }), { HYPERVISOR: "xen", ONE_NODE_PRINT_ONLY: "1" });
            assert.notEqual(xen.status, 0);
            assert.match(xen.stderr, /HYPERVISOR must be one of kvm, qemu, lxc \(got 'xen'\)/);
            const nested = runHostScript(opennebulaNodeScript({ hypervisor: "qemu" }), { KVM_NESTED: "yes", ONE_NODE_PRINT_ONLY: "1" });
            assert.notEqual(nested.status, 0);
            assert.match(nested.stderr, /KVM_NESTED applies only to HYPERVISOR=kvm/);
        });
    });

    describe("oneadmin-key.sh", function () {
        const authorizedKeys = () => path.join(root, "var/lib/one/.ssh/authorized_keys");
        const sshdConfig = () => path.join(root, "etc/ssh/sshd_config");

        it("authorizes the key once, with oneadmin's modes; a re-run changes nothing", function () {
            write(sshdConfig(), "Port 22\nPasswordAuthentication yes\nMatch User backup\n    PasswordAuthentication yes\n");
            const key = ed25519PublicKey("oneadmin@front-end");
            const script = oneadminKeyScript({ publicKey: key });
            mustRun(script, { HOST_ROOT: root });
            const keysAfterFirst = fs.readFileSync(authorizedKeys(), "utf8");
            const configAfterFirst = fs.readFileSync(sshdConfig(), "utf8");

            assert.match(mustRun(script, { HOST_ROOT: root }), /already authorized/);
            assert.equal(fs.readFileSync(authorizedKeys(), "utf8"), keysAfterFirst);
            assert.equal(fs.readFileSync(sshdConfig(), "utf8"), configAfterFirst);

            assert.equal(keysAfterFirst, `${key}\n`);
            assert.equal(fs.statSync(path.dirname(authorizedKeys())).mode & 0o777, 0o700);
            assert.equal(fs.statSync(authorizedKeys()).mode & 0o777, 0o600);
            if (isRoot) {
                assert.equal(fs.statSync(authorizedKeys()).uid, 9869, "uid 9869 when oneadmin does not exist");
                assert.equal(fs.statSync(authorizedKeys()).gid, 9869);
            }
            // The settings come first, since sshd keeps the first value it reads.
            assert.ok(
                configAfterFirst.startsWith(
                    "# BEGIN opennebula-edge (oneadmin-key.sh)\nPasswordAuthentication no\nPermitRootLogin prohibit-password\n# END opennebula-edge (oneadmin-key.sh)\nPort 22\n",
                ),
                configAfterFirst,
            );
        });

        it("does not add a key that is already there under another comment, and keeps other keys intact", function () {
            const key = ed25519PublicKey("oneadmin@front-end");
            const other = ed25519PublicKey("someone-else");
            const sameKeyOtherComment = key.replace("oneadmin@front-end", "old comment");
            write(authorizedKeys(), `${other}\n${sameKeyOtherComment}`); // no final newline
            mustRun(oneadminKeyScript({ publicKey: key, hardenSshd: false }), { HOST_ROOT: root });
            assert.equal(fs.readFileSync(authorizedKeys(), "utf8"), `${other}\n${sameKeyOtherComment}`);

            const newKey = ed25519PublicKey("new");
            mustRun(oneadminKeyScript({ publicKey: newKey, hardenSshd: false }), { HOST_ROOT: root });
            assert.equal(fs.readFileSync(authorizedKeys(), "utf8"), `${other}\n${sameKeyOtherComment}\n${newKey}\n`);
        });

        describe("authorizes only an exact, active, unrestricted line", function () {
            const key = ed25519PublicKey("oneadmin@front-end");
            const [type, data] = key.split(" ");
            const cases: Array<[string, string, (original: string) => string]> = [
                ["a commented-out line", `# ${key}\n`, (original) => `${original}${key}\n`],
                ["a line restricted with from=", `from="10.9.9.9" ${key}\n`, () => `${key}\nfrom="10.9.9.9" ${key}\n`],
                [
                    "a line with a forced command",
                    `command="/bin/false",no-pty ${type} ${data} x\n`,
                    () => `${key}\ncommand="/bin/false",no-pty ${type} ${data} x\n`,
                ],
                [
                    "a different key with the same comment",
                    `${ed25519PublicKey("oneadmin@front-end")}\n`,
                    (original) => `${original}${key}\n`,
                ],
                [
                    "a key whose data only starts like ours",
                    `${type} ${data.slice(0, -4)} oneadmin@front-end\n`,
                    (original) => `${original}${key}\n`,
                ],
            ];
            for (const [label, existing, expected] of cases) {
                it(`adds the key next to ${label}, before any other line of the same key; a re-run changes nothing`, function () {
                    write(authorizedKeys(), existing);
                    const script = oneadminKeyScript({ publicKey: key, hardenSshd: false });
                    assert.match(mustRun(script, { HOST_ROOT: root }), /authorized the oneadmin key/);
                    const after = fs.readFileSync(authorizedKeys(), "utf8");
                    assert.equal(after, expected(existing));
                    assert.match(mustRun(script, { HOST_ROOT: root }), /already authorized/);
                    assert.equal(fs.readFileSync(authorizedKeys(), "utf8"), after);
                });
            }

            it("a duplicate of the exact line counts as authorized and is left alone", function () {
                write(authorizedKeys(), `${key}\n${key}\n`);
                assert.match(mustRun(oneadminKeyScript({ publicKey: key, hardenSshd: false }), { HOST_ROOT: root }), /already authorized/);
                assert.equal(fs.readFileSync(authorizedKeys(), "utf8"), `${key}\n${key}\n`);
            });

            it("an indented exact line counts as authorized (sshd ignores leading blanks)", function () {
                write(authorizedKeys(), `   ${key}\n`);
                assert.match(mustRun(oneadminKeyScript({ publicKey: key, hardenSshd: false }), { HOST_ROOT: root }), /already authorized/);
            });
        });

        it("uses a drop-in that wins over cloud-init's when sshd_config includes sshd_config.d", function () {
            const config = "Include /etc/ssh/sshd_config.d/*.conf\nPort 22\n";
            write(sshdConfig(), config);
            write(path.join(root, "etc/ssh/sshd_config.d/50-cloud-init.conf"), "PasswordAuthentication yes\n");
            const script = oneadminKeyScript({ publicKey: ed25519PublicKey("fe") });
            mustRun(script, { HOST_ROOT: root });
            mustRun(script, { HOST_ROOT: root });
            const dropIns = fs.readdirSync(path.join(root, "etc/ssh/sshd_config.d")).sort();
            assert.deepEqual(dropIns, ["10-opennebula-edge.conf", "50-cloud-init.conf"], "sorted before cloud-init's file");
            assert.equal(
                fs.readFileSync(path.join(root, "etc/ssh/sshd_config.d/10-opennebula-edge.conf"), "utf8"),
                "# Managed by opennebula-edge (oneadmin-key.sh)\nPasswordAuthentication no\nPermitRootLogin prohibit-password\n",
            );
            assert.equal(fs.readFileSync(sshdConfig(), "utf8"), config, "sshd_config itself untouched");
        });

        it("owns the files by oneadmin's ids when the user exists", function () {
            if (!isRoot) this.skip();
            write(path.join(root, "etc/passwd"), "root:x:0:0::/root:/bin/bash\noneadmin:x:1234:4321::/var/lib/one:/bin/bash\n");
            mustRun(oneadminKeyScript({ publicKey: ed25519PublicKey("fe"), hardenSshd: false }), { HOST_ROOT: root });
            const stat = fs.statSync(authorizedKeys());
            assert.deepEqual([stat.uid, stat.gid], [1234, 4321]);
        });

        it("rejects a missing or malformed key, naming the variable", function () {
            const script = oneadminKeyScript({ publicKey: ed25519PublicKey("fe") });
            const missing = runHostScript(script, { HOST_ROOT: root, ONEADMIN_PUBKEY: "" });
            assert.notEqual(missing.status, 0);
            assert.match(missing.stderr, /ONEADMIN_PUBKEY is required/);
            const injected = runHostScript(script, { HOST_ROOT: root, ONEADMIN_PUBKEY: "ssh-ed25519 AAAA\nssh-rsa BBBB" });
            assert.notEqual(injected.status, 0);
            assert.match(injected.stderr, /ONEADMIN_PUBKEY must be one OpenSSH public key line/);
            assert.ok(!fs.existsSync(authorizedKeys()), "nothing written");
        });
    });
});
