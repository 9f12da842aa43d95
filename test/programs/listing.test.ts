/**
 * `list` and `status`: the stack output `topology` as the main program produces it under mocks,
 * the listing and the diagram built from it (the README's diagram is the one the code draws for
 * the multi-edge stack file), the lab's topology drawn the same way, host states read from the
 * OpenNebula test double, the route reflector's sessions read over `ssh` (a stand-in `ssh` on
 * PATH that answers like FRR), and the CLI's commands. The CLI reading a real stack needs the
 * `pulumi` CLI: skipped, with the reason, where there is none.
 */
import * as assert from "assert";
import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { CliArguments } from "../../programs/automation/cli";
import { main, parseCliArguments, report } from "../../programs/automation/cli";
import { formatListing, labTopology, listing, topologyDiagram } from "../../programs/automation/listing";
import { edgeStatus, openNebulaHostStates, routeReflectorSessions } from "../../programs/automation/status";
import { stackProgram } from "../../programs/main/program";
import type { EdgeTopology } from "../../programs/main/topology";
import { buildTopology } from "../../scripts/lab/topology";
import { OneClient } from "../../components/opennebula/client";
import { OneDouble } from "../support/one-double";
import { SECRETS, repositoryRoot, runWithConfig, stackFileConfig, valueOf } from "./stack-support";
import { assertNoSecrets } from "../support/fixtures";

/** The topology output of a stack file run through the main program under the package's mocks. */
async function topologyOf(stack: string): Promise<{ topology: EdgeTopology; sshPrivateKey?: string }> {
    let outputs!: Awaited<ReturnType<typeof stackProgram>>;
    await runWithConfig(stackFileConfig(stack), async () => {
        outputs = await stackProgram();
    });
    return { topology: await valueOf(outputs.topology!) };
}

/** A README block: the fenced block (of `language`) after `<!-- <marker>: <stack file> -->`. */
function readmeBlock(marker: string, stackFile: string, language = ""): string {
    const readme = fs.readFileSync(path.join(repositoryRoot(), "README.md"), "utf8");
    const start = readme.indexOf(`<!-- ${marker}: ${stackFile} -->\n\`\`\`${language}\n`);
    assert.ok(start >= 0, `the README has a block marked <!-- ${marker}: ${stackFile} -->`);
    const body = readme.indexOf("\n", readme.indexOf("```", start)) + 1;
    return readme.slice(body, readme.indexOf("```\n", body));
}

function pulumiOnPath(): boolean {
    return (process.env.PATH ?? "").split(path.delimiter).some((dir) => fs.existsSync(path.join(dir, "pulumi")));
}

describe("list and status", function () {
    this.timeout(120_000);
    let multiEdge: EdgeTopology;

    before(async function () {
        multiEdge = (await topologyOf("multi-edge")).topology;
    });

    it("the stack output topology has every cluster, host, public IP, the overlay, the EVPN network and the router", function () {
        assert.deepStrictEqual(Object.keys(multiEdge.clusters), ["london", "ncalifornia"]);
        const london = multiEdge.clusters.london;
        assert.strictEqual(london.cloud, "aws");
        assert.strictEqual(london.region, "eu-west-2");
        assert.strictEqual(typeof london.clusterId, "number");
        assert.strictEqual(london.clusterId, multiEdge.clusters.ncalifornia.clusterId, "one shared OpenNebula cluster");
        const host = london.hosts["host-0"];
        assert.strictEqual(host.publicIp, "18.134.246.200");
        assert.strictEqual(host.privateIp, "10.0.0.4");
        assert.strictEqual(typeof host.hostId, "number");
        assert.deepStrictEqual([host.overlayNode, host.overlayAddress], ["london-host-0", "192.168.0.2"]);
        assert.strictEqual(Object.keys(london.publicIps).length, 5);
        assert.ok(Object.values(london.publicIps).every((key) => key === "host-0"));
        assert.deepStrictEqual(multiEdge.overlay, {
            subnet: "192.168.0.0/24",
            topology: "mesh",
            ingress: { key: "ingress", publicIp: "13.58.199.98", address: "192.168.0.1" },
        });
        assert.deepStrictEqual(
            [multiEdge.privateNetwork?.network, multiEdge.privateNetwork?.vlanId, typeof multiEdge.privateNetwork?.id],
            ["172.17.2.0/24", 100, "number"],
        );
        assert.strictEqual(multiEdge.router?.cluster, "london");
        assert.strictEqual(multiEdge.router?.publicIp, Object.keys(london.publicIps)[0], "the router holds London's first public IP");
    });

    it("a single-cloud stack has no overlay, network or router in its topology", async function () {
        const { topology } = await topologyOf("digitalocean");
        assert.deepStrictEqual(Object.keys(topology).sort(), ["clusters"]);
        const [cluster] = Object.values(topology.clusters);
        assert.strictEqual(cluster.cloud, "digitalocean");
        assert.deepStrictEqual(
            Object.values(cluster.publicIps).sort(),
            Object.keys(cluster.hosts).sort(),
            "each droplet's own IP is carried by it",
        );
    });

    it("lists hosts with their addresses, which host carries each public IP, the overlay, the network and the router", function () {
        const list = listing(multiEdge);
        assert.deepStrictEqual(
            list.hosts.map((h) => `${h.cluster}/${h.host}`),
            ["london/host-0", "ncalifornia/host-0"],
        );
        assert.strictEqual(list.hosts[0].publicIps.length, 5);
        assert.strictEqual(Object.values(list.publicIps).filter((carrier) => carrier === "london/host-0").length, 5);
        const text = formatListing(list);
        assert.match(text, /^CLUSTER\s+CLOUD\s+REGION\s+ONE CLUSTER\s+HOST\s+PUBLIC IP\s+PRIVATE IP\s+ONE HOST\s+OVERLAY$/m);
        assert.match(text, /^london\s+aws\s+eu-west-2\s+\d+\s+host-0\s+18\.134\.246\.200\s+10\.0\.0\.4\s+\d+\s+192\.168\.0\.2$/m);
        assert.match(
            text,
            /^overlay: mesh on 192\.168\.0\.0\/24, ingress ingress 13\.58\.199\.98 \(wg 192\.168\.0\.1, route reflector\)$/m,
        );
        assert.match(text, /^EVPN network: 172\.17\.2\.0\/24, VNI 100, OpenNebula network \d+$/m);
        assert.match(text, /^router: \S+ on london$/m);
        assert.deepStrictEqual(JSON.parse(JSON.stringify(list)), list, "the listing is plain JSON (--json)");
        assert.strictEqual(readmeBlock("listing", "Pulumi.multi-edge.yaml"), text, "the README shows this listing");
    });

    it("status adds each host's state in OpenNebula and the route reflector's session, and the problems it met", function () {
        const [london, california] = [multiEdge.clusters.london.hosts["host-0"], multiEdge.clusters.ncalifornia.hosts["host-0"]];
        const list = listing(multiEdge, {
            hostStates: { [london.hostId!]: "MONITORED" },
            bgpSessions: { "192.168.0.2": "Established" },
            problems: ["BGP: ingress 13.58.199.98 not reachable: timeout"],
        });
        assert.deepStrictEqual(
            list.hosts.map((h) => [h.state, h.bgp]),
            [
                ["MONITORED", "Established"],
                ["absent", "no session"],
            ],
        );
        assert.strictEqual(california.overlayAddress, "192.168.0.3");
        const text = formatListing(list);
        assert.match(text, /\s+STATE\s+OVERLAY\s+BGP$/m);
        assert.match(text, /MONITORED\s+192\.168\.0\.2\s+Established$/m);
        assert.match(text, /^! BGP: ingress 13\.58\.199\.98 not reachable: timeout$/m);
    });

    it("draws the topology as a Mermaid flowchart, and the README shows exactly the one drawn for Pulumi.multi-edge.yaml", function () {
        const diagram = topologyDiagram(multiEdge);
        assert.match(diagram, /^flowchart LR\n/);
        assert.match(diagram, /subgraph cluster_london\["london · aws eu-west-2 · cluster \d+"\]/);
        assert.match(diagram, /host_london_host_0\["host-0<br\/>18\.134\.246\.200 · 10\.0\.0\.4<br\/>wg 192\.168\.0\.2"\]/);
        assert.match(
            diagram,
            /ingress --- \|"WireGuard mesh 192\.168\.0\.0\/24"\| host_ncalifornia_host_0|ingress ---\|"WireGuard mesh 192\.168\.0\.0\/24"\| host_ncalifornia_host_0/,
        );
        assert.strictEqual(diagram.match(/--> host_london_host_0$/gm)?.length, 5, "five public IPs point at London's host");
        assert.match(diagram, /evpn\[\["EVPN 172\.17\.2\.0\/24 · VNI 100"\]\]/);
        assert.match(diagram, /router\[\/"router<br\/>\S+"\/\]/);
        assert.strictEqual(readmeBlock("diagram", "Pulumi.multi-edge.yaml", "mermaid"), diagram);
    });

    it("draws the lab's topology the same way: its clusters, hosts, ingress, VMs and EVPN network", function () {
        const lab = labTopology(buildTopology("listtest"));
        assert.deepStrictEqual(Object.keys(lab.clusters), ["ec1", "ec2"]);
        assert.deepStrictEqual(Object.keys(lab.clusters.ec1.hosts), ["kvm1", "kvm2"]);
        assert.strictEqual(lab.clusters.ec1.hosts.kvm1.publicIp, "10.201.0.1");
        assert.strictEqual(lab.overlay?.ingress.address, "192.168.0.1");
        assert.strictEqual(lab.privateNetwork?.network, "172.17.2.0/24");
        assert.deepStrictEqual(lab.privateNetwork?.vms?.vm3, { ip: "172.17.2.4", host: "ec2/kvm3" });
        const diagram = topologyDiagram(lab);
        for (const vm of ["vm1", "vm2", "vm3", "vm4"])
            assert.match(diagram, new RegExp(`^        vm_${vm}\\(\\["${vm}<br/>172\\.17\\.2\\.\\d+"\\]\\)$`, "m"));
        assert.match(diagram, /^    host_ec2_kvm3 --- vm_vm3$/m);
        assert.strictEqual(listing(lab).hosts.length, 4);
    });

    it("reads each host's state from OpenNebula (the test double): MONITORED, ERROR, absent", async function () {
        const double = await OneDouble.start({ hostMonitorMs: 20 });
        try {
            const connection = { endpoint: double.endpoint, username: double.username, password: double.password };
            const client = new OneClient(connection);
            const good = Number(await client.call("one.host.allocate", "203.0.113.10", "kvm", "kvm", -1));
            const bad = Number(await client.call("one.host.allocate", "unreachable-203.0.113.11", "kvm", "kvm", -1));
            await new Promise((resolve) => setTimeout(resolve, 200));
            assert.deepStrictEqual(await openNebulaHostStates(connection, [good, bad, 9999]), {
                [good]: "MONITORED",
                [bad]: "ERROR",
                9999: "absent",
            });
            const topology: EdgeTopology = {
                clusters: {
                    edge: {
                        cloud: "aws",
                        region: "eu-west-2",
                        hosts: { a: { publicIp: "203.0.113.10", privateIp: "10.0.0.4", hostId: good } },
                        publicIps: {},
                    },
                },
            };
            const status = await edgeStatus(topology, { connection });
            assert.deepStrictEqual(status.hostStates, { [good]: "MONITORED" });
            assert.deepStrictEqual(status.problems, []);
            const refused = await edgeStatus(topology, { connection: { ...connection, password: "wrong" } });
            assert.strictEqual(refused.hostStates, undefined);
            assert.match(refused.problems![0], /^OpenNebula: /, "a front-end that refuses is a problem, not a failure");
        } finally {
            await double.stop();
        }
    });

    it("reads the route reflector's sessions with ssh (BatchMode, the key in a 0600 file removed after, sudo vtysh)", function () {
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "fake-ssh-"));
        const log = path.join(bin, "args");
        // A stand-in ssh: records its arguments and the key file's mode, and answers as FRR does.
        fs.writeFileSync(
            path.join(bin, "ssh"),
            `#!/bin/sh
key="$2"; printf '%s\\n' "$@" > ${log}; stat -c %a "$key" >> ${log}
echo '{"routerId":"192.168.0.1","as":65000,"peers":{"192.168.0.2":{"remoteAs":65000,"state":"Established","pfxRcd":4},"192.168.0.3":{"remoteAs":65000,"state":"Active"}}}'
`,
            { mode: 0o755 },
        );
        const pathBefore = process.env.PATH;
        process.env.PATH = `${bin}${path.delimiter}${pathBefore}`;
        try {
            assert.deepStrictEqual(routeReflectorSessions("13.58.199.98", { privateKey: SECRETS.sshPrivateKey, user: "root" }), {
                "192.168.0.2": "Established",
                "192.168.0.3": "Active",
            });
            const args = fs.readFileSync(log, "utf8").trim().split("\n");
            assert.ok(args.includes("BatchMode=yes"));
            assert.strictEqual(args[args.length - 3], "root@13.58.199.98");
            assert.strictEqual(args[args.length - 2], "sudo vtysh -c 'show bgp l2vpn evpn summary json'");
            assert.strictEqual(args[args.length - 1], "600", "the key file is private");
            assertNoSecrets(args, [SECRETS.sshPrivateKey], "the command line");
            assert.ok(!fs.existsSync(args[1]), "the key file is removed");
            fs.writeFileSync(
                path.join(bin, "ssh"),
                "#!/bin/sh\necho 'ssh: connect to host 13.58.199.98 port 22: Connection timed out' >&2; exit 255\n",
            );
            assert.throws(
                () => routeReflectorSessions("13.58.199.98", { privateKey: SECRETS.sshPrivateKey }),
                /ssh 13\.58\.199\.98 exited 255: ssh: connect to host/,
            );
        } finally {
            process.env.PATH = pathBefore;
            fs.rmSync(bin, { recursive: true, force: true });
        }
    });

    describe("the CLI", function () {
        const stack = (topology: EdgeTopology) => ({ outputs: { topology }, config: {}, topology });

        it("parses list and status with --json, --diagram and --ssh-key, and refuses them on other commands", function () {
            const list = parseCliArguments(["list", "--stack", "dev", "--json", "--diagram", "-"]);
            assert.deepStrictEqual([list.command, list.json, list.diagram, list.configFile], ["list", true, "-", undefined]);
            assert.strictEqual(parseCliArguments(["status", "--stack", "dev", "--ssh-key", "/k"]).sshKeyFile, "/k");
            assert.throws(
                () => parseCliArguments(["up", "--stack", "dev", "--config", "c", "--json"]),
                /--json: applies to list and status only/,
            );
            assert.throws(() => parseCliArguments(["list"]), /--stack: is required/);
        });

        it("prints the listing, its JSON, or the diagram; --diagram <file> writes the file", async function () {
            const args = (extra: string[]): CliArguments => parseCliArguments(["list", "--stack", "dev", ...extra]);
            assert.strictEqual(await report(args([]), stack(multiEdge)), formatListing(listing(multiEdge)));
            assert.deepStrictEqual(
                JSON.parse(await report(args(["--json"]), stack(multiEdge))),
                JSON.parse(JSON.stringify(listing(multiEdge))),
            );
            assert.strictEqual(await report(args(["--diagram", "-"]), stack(multiEdge)), topologyDiagram(multiEdge));
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edge-diagram-"));
            try {
                await report(args(["--diagram", path.join(dir, "edge.mmd")]), stack(multiEdge));
                assert.strictEqual(fs.readFileSync(path.join(dir, "edge.mmd"), "utf8"), topologyDiagram(multiEdge));
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
            await assert.rejects(report(args([]), { outputs: {}, config: {} }), /stack dev has no topology output/);
        });

        it("status reports what it cannot read instead of failing (no front-end configured, no SSH key)", async function () {
            const text = await report(parseCliArguments(["status", "--stack", "dev"]), stack(multiEdge));
            assert.match(text, /^! OpenNebula: no connection/m);
            assert.match(text, /^! BGP: no SSH key for the ingress/m);
        });

        const title = "lists a real stack through the Automation API";
        it(
            pulumiOnPath()
                ? title
                : `${title} (skipped: no pulumi CLI on PATH; the reading of outputs and everything after it is tested above)`,
            async function () {
                if (!pulumiOnPath()) {
                    // Without a CLI, `list` fails at the first step that needs one, after checking its arguments.
                    const stderr: string[] = [];
                    const write = process.stderr.write;
                    process.stderr.write = ((chunk: string) => {
                        stderr.push(String(chunk));
                        return true;
                    }) as typeof process.stderr.write;
                    try {
                        const backend = fs.mkdtempSync(path.join(os.tmpdir(), "edge-list-"));
                        const code = await main(["list", "--stack", "dev", "--backend", `file://${backend}`]).finally(() =>
                            fs.rmSync(backend, { recursive: true, force: true }),
                        );
                        assert.strictEqual(code, 1);
                    } finally {
                        process.stderr.write = write;
                    }
                    assert.match(stderr.join(""), /pulumi CLI, which is not on PATH|PULUMI_CONFIG_PASSPHRASE/);
                    console.log("      skipped the real stack: the `pulumi` CLI is not on PATH (install it to run this test)");
                    this.skip();
                }
                const result = childProcess.spawnSync("pulumi", ["version"], { encoding: "utf8" });
                assert.strictEqual(result.status, 0);
            },
        );
    });
});
