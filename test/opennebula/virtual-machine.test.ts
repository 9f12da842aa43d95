import * as assert from "assert";
import { templateOf } from "../../components/opennebula/objects";
import { vmPortForward } from "../../components/opennebula/resources/virtual-machine";
import { childInt, parseXml } from "../../components/opennebula/xml";
import { DIGITALOCEAN_PORT_FORWARDING } from "../../components/clouds/digitalocean";
import { rejects } from "./harness";
import type { Workloads } from "./workloads";
import { assertNothingOrphaned, bridgedNetwork, leasesOf, startWorkloads } from "./workloads";

// VirtualMachine against the double, the DigitalOcean tutorial done in code, and the
// `onevm port-forward` answer.

/** A small VM template made by hand (the tests' own, removed in `after`). */
async function plainTemplate(w: Workloads, name: string): Promise<number> {
    return Number(
        await w.client.call("one.template.allocate", `NAME = "${name}"\nCPU = "1"\nMEMORY = "128"\nCONTEXT = [ NETWORK = "YES" ]`),
    );
}

describe("VirtualMachine: a VM instantiated from a template with NICs on given networks", function () {
    let w: Workloads;
    let templateId: number;
    let privateNet: number;
    let publicNet: number;
    const vmInfo = async (id: number) => parseXml(String(await w.client.call("one.vm.info", id)));

    before(async () => {
        w = await startWorkloads();
        templateId = await plainTemplate(w, "small");
        privateNet = await bridgedNetwork(w, "private", "172.17.2.1", 20);
        publicNet = await bridgedNetwork(w, "public", "10.0.1.16", 5);
    });
    after(async () => {
        if (!w) return;
        for (const id of [...w.network.state.keys()]) await w.network.delete(id);
        await w.client.call("one.template.delete", templateId);
        await w.stop();
    });
    beforeEach(() => {
        w.double.clearFaults();
        w.double.resetCounts();
    });
    afterEach(async () => {
        w.double.clearFaults();
        assertNothingOrphaned(w, [`vmtemplate/${templateId}`]);
        for (const id of [...w.vm.state.keys()]) await w.vm.delete(id);
        assertNothingOrphaned(w, [`vmtemplate/${templateId}`]);
    });

    it("the DigitalOcean tutorial in code: export Alpine, start it on the port-forwarding public network, and say where to SSH", async function () {
        // onemarketapp export 'Alpine Linux 3.13' 'Alpine' -d <image datastore>
        const alpine = await w.app.create({ appName: "Alpine Linux 3.13", imageName: "Alpine", datastoreId: 1 });
        // The provision's public network: leases from 192.168.23.2, 100 host ports per lease from 9000.
        const { leases, portStart, portSize, baseIp } = DIGITALOCEAN_PORT_FORWARDING;
        const network = await bridgedNetwork(w, "digitalocean-cluster-public", baseIp, leases, {
            PORT_START: portStart,
            PORT_SIZE: portSize,
        });
        // onetemplate instantiate 'Alpine' --name 'alpine_test' --nic 'digitalocean-cluster-public'
        const { outs } = await w.vm.create({ name: "alpine_test", templateId: alpine.outs.templateId, nics: [{ networkId: network }] });
        assert.strictEqual(outs.state, "RUNNING");
        const [nic] = outs.interfaces;
        assert.deepStrictEqual(
            [nic.ip, nic.externalPortRange, nic.internalPortRange],
            ["192.168.23.2", "9001:9100", "1-100/9001"],
            "lease 0, as in the seed",
        );
        // onevm port-forward 0 22 / 80, on the droplet 35.246.64.97
        assert.deepStrictEqual(vmPortForward({ hostPublicIp: "35.246.64.97", nic, internalPort: 22 }), {
            host: "35.246.64.97",
            port: 9022,
        });
        assert.deepStrictEqual(
            vmPortForward({ hostPublicIp: "35.246.64.97", nic, internalPort: 80 }),
            { host: "35.246.64.97", port: 9080 },
            "the seed's 35.246.64.97@9080 -> 80",
        );
        const image = parseXml(String(await w.client.call("one.image.info", alpine.outs.imageId)));
        assert.strictEqual(childInt(image, "RUNNING_VMS"), 1, "the VM boots the exported image");
        await rejects(w.app.provider.delete!(alpine.id, alpine.outs), /There are 1 VMs using it/);
        await w.vm.delete(outs.oneId.toString());
        await w.app.delete(alpine.id);
        await w.network.delete(String(network));
    });

    it("creates with a fixed address and an external NIC alias, reads back unchanged, and the networks show both leases", async function () {
        const args = {
            name: "sr-1",
            templateId,
            nics: [{ networkId: privateNet, ip: "172.17.2.10", attributes: { MODEL: "virtio" } }],
            nicAliases: [{ networkId: publicNet, parent: "NIC0", external: true, ip: "10.0.1.18" }],
            template: { SCHED_REQUIREMENTS: "ID = 0", CONTEXT: { NETWORK: "YES", TOKEN: "YES" } },
        };
        const { id, outs } = await w.vm.create(args);
        assert.deepStrictEqual(outs.ips, ["172.17.2.10"]);
        assert.deepStrictEqual(outs.aliases, [
            { name: "NIC0_ALIAS1", parent: "NIC0", networkId: publicNet, ip: "10.0.1.18", external: true },
        ]);
        assert.deepStrictEqual(await w.vm.read(id), outs);
        assert.strictEqual((await leasesOf(w, privateNet))["172.17.2.10"], `VM ${id}`);
        assert.strictEqual((await leasesOf(w, publicNet))["10.0.1.18"], `VM ${id}`, "the external alias holds a public lease");
        const template = templateOf(await vmInfo(Number(id)));
        assert.strictEqual((template.NIC as Record<string, string>).MODEL, "virtio");
        assert.deepStrictEqual(template.CONTEXT, { NETWORK: "YES", TOKEN: "YES" });
    });

    it("renames in place, resumes a VM powered off outside Pulumi, and replaces the VM when its NICs change (old one first: fixed address)", async function () {
        const args = { name: "web", templateId, nics: [{ networkId: privateNet, ip: "172.17.2.11" }] };
        const { id } = await w.vm.create(args);
        const renamed = await w.vm.up(id, { ...args, name: "web-2" });
        assert.strictEqual(renamed.id, id);
        assert.strictEqual(renamed.outs.name, "web-2");

        await w.client.call("one.vm.action", "poweroff", Number(id));
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.strictEqual((await w.vm.read(id))?.state, "POWEROFF");
        const resumed = await w.vm.up(id, { ...args, name: "web-2" });
        assert.strictEqual(resumed.diff.changes, true);
        assert.strictEqual(resumed.outs.state, "RUNNING");

        const replaced = await w.vm.up(id, {
            ...args,
            name: "web-2",
            nics: [{ networkId: privateNet, ip: "172.17.2.11" }, { networkId: publicNet }],
        });
        assert.deepStrictEqual(replaced.diff.replaces, ["nics"]);
        assert.strictEqual(replaced.diff.deleteBeforeReplace, true);
        assert.notStrictEqual(replaced.id, id);
        assert.deepStrictEqual(replaced.outs.ips, ["172.17.2.11", "10.0.1.16"]);
        assert.strictEqual(childInt(await vmInfo(Number(id)), "STATE"), 6, "the old VM is DONE");
    });

    it("deletes with terminate-hard and waits for DONE; a VM terminated outside Pulumi is gone on refresh and deleting it again succeeds", async function () {
        const { id, outs } = await w.vm.create({ name: "short-lived", templateId, nics: [{ networkId: privateNet }] });
        await w.vm.delete(id);
        assert.strictEqual(childInt(await vmInfo(Number(id)), "STATE"), 6, "DONE when delete returns");
        assert.deepStrictEqual(await leasesOf(w, privateNet), {}, "its lease is free again");

        const other = await w.vm.create({ name: "killed", templateId, nics: [{ networkId: privateNet }] });
        await w.client.call("one.vm.action", "terminate-hard", Number(other.id));
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.strictEqual(await w.vm.read(other.id), undefined);
        await w.vm.provider.delete!(other.id, other.outs);
        await w.vm.provider.delete!(id, outs);
    });

    it("fails clearly when OpenNebula cannot create the VM (address in use), creating nothing", async function () {
        const { id } = await w.vm.create({ name: "a", templateId, nics: [{ networkId: privateNet, ip: "172.17.2.12" }] });
        await rejects(
            w.vm.create({ name: "b", templateId, nics: [{ networkId: privateNet, ip: "172.17.2.12" }] }),
            /^\[one\.template\.instantiate\] ALLOCATE \(16384\).*Cannot get IP\/MAC lease/,
        );
        await w.vm.delete(id);
    });

    it("rejects bad input in check, naming the field, before any API call", async function () {
        const cases: [Record<string, unknown>, RegExp][] = [
            [{ name: "x" }, /^templateId: templateId must be an integer ≥ 0/],
            [{ name: "a:b", templateId }, /^name: name must not contain ":"/],
            [{ name: "x", templateId, nics: [{ networkId: "public" }] }, /^nics\[0\]\.networkId: nics\[0\]\.networkId must be an integer/],
            [{ name: "x", templateId, nics: [{ networkId: 1, ip: "10.0.1" }] }, /^nics\[0\]\.ip: nics\[0\]\.ip must be an IPv4 address/],
            [
                { name: "x", templateId, nics: [{ networkId: 1, attributes: { IP: "10.0.0.1" } }] },
                /^nics\[0\]\.attributes: .*must not set IP; use the NIC's own fields/,
            ],
            [
                { name: "x", templateId, nics: [{ networkId: 1 }], nicAliases: [{ networkId: 2, parent: "NIC1" }] },
                /^nicAliases\[0\]\.parent: .*must name one of the VM's NICs: one of NIC0 \(got "NIC1"\)/,
            ],
            [
                { name: "x", templateId, nics: [{ networkId: 1 }], nicAliases: [{ networkId: 2, external: "yes" }] },
                /^nicAliases\[0\]\.external: /,
            ],
            [
                { name: "x", templateId, template: { NIC: { NETWORK_ID: 1 } } },
                /^template: template must not set NIC; use the name, nics and nicAliases arguments/,
            ],
            [{ name: "x", templateId, runningTimeoutSeconds: -1 }, /^runningTimeoutSeconds: /],
        ];
        for (const [inputs, message] of cases) await rejects(w.vm.create(inputs), message);
        assert.strictEqual(w.double.calls(), 0, "no XML-RPC call for invalid input");
    });

    describe("under injected faults", function () {
        it("never instantiates twice after a reset that reached the server (looks the VM up by name)", async function () {
            w.double.inject({ kind: "reset", method: "one.template.instantiate", afterProcessing: true });
            const { outs } = await w.vm.create({ name: "once", templateId, nics: [{ networkId: privateNet }] });
            assert.strictEqual(w.double.calls("one.template.instantiate"), 1, "instantiate sent once");
            assert.strictEqual(outs.state, "RUNNING");
        });

        it("terminates the VM again when waiting for RUNNING fails, and says so", async function () {
            w.double.inject({ kind: "error", code: 8192, message: "[one.vm.info] Injected failure.", method: "one.vm.info" });
            await rejects(
                w.vm.create({ name: "unlucky", templateId, nics: [{ networkId: privateNet }] }),
                /^virtual machine \d+ \(unlucky\) was created but .*Injected failure.*it was terminated \(terminate-hard\) so nothing is left behind/,
            );
            assert.deepStrictEqual(await leasesOf(w, privateNet), {}, "its lease was given back");
        });

        it("terminates a VM that is not RUNNING in time, naming the state it was stuck in", async function () {
            const slow = await startWorkloads({ vmDeployMs: 5_000 });
            try {
                const slowTemplate = await plainTemplate(slow, "slow");
                await rejects(
                    slow.vm.create({ name: "stuck", templateId: slowTemplate, runningTimeoutSeconds: 0.3 }),
                    /^virtual machine \d+ \(stuck\) was created but it was still PENDING, not RUNNING, after 0\.3 s; it was terminated/,
                );
                await slow.client.call("one.template.delete", slowTemplate);
                assertNothingOrphaned(slow);
            } finally {
                await slow.stop();
            }
        });
    });
});

describe("vmPortForward: what onevm port-forward answers", function () {
    const nic = { externalPortRange: "9101:9200", internalPortRange: "1-100/9101" };

    it("maps an internal port into the NIC's host port range", function () {
        assert.deepStrictEqual(vmPortForward({ hostPublicIp: "203.0.113.5", nic, internalPort: 1 }), { host: "203.0.113.5", port: 9101 });
        assert.deepStrictEqual(vmPortForward({ hostPublicIp: "203.0.113.5", nic, internalPort: 100 }), { host: "203.0.113.5", port: 9200 });
    });

    it("refuses a NIC without port ranges, ranges that disagree, ports outside the range and bad host addresses", function () {
        assert.throws(() => vmPortForward({ hostPublicIp: "203.0.113.5", nic: {}, internalPort: 22 }), /not on a port-forwarding network/);
        assert.throws(
            () => vmPortForward({ hostPublicIp: "203.0.113.5", nic: { ...nic, internalPortRange: "1-50/9101" }, internalPort: 22 }),
            /do not describe the same ports/,
        );
        assert.throws(() => vmPortForward({ hostPublicIp: "203.0.113.5", nic, internalPort: 101 }), /internalPort/);
        assert.throws(() => vmPortForward({ hostPublicIp: "203.0.113.5", nic, internalPort: 0 }), /internalPort/);
        assert.throws(() => vmPortForward({ hostPublicIp: "droplet", nic, internalPort: 22 }), /hostPublicIp/);
    });
});
