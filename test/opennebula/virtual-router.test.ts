import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { templateOf } from "../../components/opennebula/objects";
import type { TemplateVector } from "../../components/opennebula/template";
import { childInt, parseXml } from "../../components/opennebula/xml";
import { EdgeVirtualRouter } from "../../components/router";
import { PROVIDER_CASES_WITH_SETUP, runSerializedProvider } from "../packaging/providers";
import { runProgram } from "../support/pulumi-mocks";
import { rejects } from "./harness";
import type { Workloads } from "./workloads";
import { assertNothingOrphaned, bridgedNetwork, deleteAll, leasesOf, startWorkloads } from "./workloads";

// VirtualRouter against the double, and the seed's router end to end: what EdgeVirtualRouter
// registers, created by the providers, with a private VM reached through SDNAT.

const SEED_POOL = ["10.0.1.16", "10.0.1.17", "10.0.1.18", "10.0.1.19", "10.0.1.20"];

describe("VirtualRouter: a virtual router and its VMs", function () {
    let w: Workloads;
    let appliance: { id: string; outs: Record<string, any> };
    let publicNet: number;
    let privateNet: number;
    const vmInfo = async (id: number) => parseXml(String(await w.client.call("one.vm.info", id)));
    const routerArgs = (extra: Record<string, unknown> = {}) => ({
        name: "vr",
        templateId: appliance.outs.templateId,
        nics: [
            { networkId: publicNet, ip: "10.0.1.16" },
            { networkId: privateNet, ip: "172.17.2.1" },
        ],
        context: { ONEAPP_VNF_SDNAT4_ENABLED: "YES", ONEAPP_VNF_SDNAT4_INTERFACES: "eth0 eth1" },
        ...extra,
    });

    before(async () => {
        w = await startWorkloads();
        appliance = await w.app.create({ appName: "Service Virtual Router", imageName: "vr-appliance", datastoreId: 1 });
        publicNet = await bridgedNetwork(w, "public", SEED_POOL[0], SEED_POOL.length);
        privateNet = await bridgedNetwork(w, "private", "172.17.2.1", 20);
    });
    after(async () => {
        if (!w) return;
        await deleteAll(w);
        await w.stop();
    });
    beforeEach(() => {
        w.double.clearFaults();
        w.double.resetCounts();
    });
    afterEach(async () => {
        w.double.clearFaults();
        assertNothingOrphaned(w);
        for (const id of [...w.router.state.keys()]) await w.router.delete(id);
        for (const id of [...w.vm.state.keys()]) await w.vm.delete(id);
        assertNothingOrphaned(w);
    });

    it("creates the router with its NICs, starts its VM with the appliance context merged into the template's, and reads back unchanged", async function () {
        const { id, outs } = await w.router.create(routerArgs());
        assert.strictEqual(outs.vms.length, 1);
        const [vm] = outs.vms;
        assert.strictEqual(vm.state, "RUNNING");
        assert.strictEqual(vm.name, "vr-vr-0", "OpenNebula's default VM name");
        assert.deepStrictEqual(outs.ips, ["10.0.1.16", "172.17.2.1"], "NIC 0 public, NIC 1 the private network's first lease");
        assert.deepStrictEqual(outs.floatingIps, ["", ""]);
        assert.deepStrictEqual(await w.router.read(id), outs);

        const template = templateOf(await vmInfo(vm.vmId));
        const context = template.CONTEXT as TemplateVector;
        assert.strictEqual(context.ONEAPP_VNF_SDNAT4_ENABLED, "YES");
        assert.strictEqual(context.ONEAPP_VNF_SDNAT4_INTERFACES, "eth0 eth1");
        assert.strictEqual(context.TOKEN, "YES", "the appliance template's own context is kept");
        assert.strictEqual(context.REPORT_READY, "YES");
        assert.strictEqual(template.VROUTER_ID, id);
        assert.deepStrictEqual(await leasesOf(w, privateNet), { "172.17.2.1": `VM ${vm.vmId}` });
    });

    it("scales its VMs in place, starts a VM terminated outside Pulumi again, and renames in place", async function () {
        const args = routerArgs({ nics: [{ networkId: publicNet }, { networkId: privateNet }] });
        const { id } = await w.router.create(args);
        const scaled = await w.router.up(id, { ...args, vmCount: 2 });
        assert.strictEqual(scaled.id, id);
        assert.deepStrictEqual(scaled.diff.replaces, []);
        assert.strictEqual(scaled.outs.vms.length, 2);
        assert.ok(scaled.outs.vms.every((vm: { state: string }) => vm.state === "RUNNING"));

        const [first, second] = scaled.outs.vms.map((vm: { vmId: number }) => vm.vmId);
        await w.client.call("one.vm.action", "terminate-hard", second);
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.strictEqual((await w.router.read(id))?.vms.length, 1, "a refresh sees the VM gone");
        const healed = await w.router.up(id, { ...args, vmCount: 2, name: "vr-2" });
        assert.strictEqual(healed.diff.changes, true);
        assert.strictEqual(healed.outs.vms.length, 2);
        assert.strictEqual(healed.outs.name, "vr-2");

        const shrunk = await w.router.up(id, { ...args, vmCount: 1, name: "vr-2" });
        assert.deepStrictEqual(
            shrunk.outs.vms.map((vm: { vmId: number }) => vm.vmId),
            [first],
            "the last VMs go",
        );
    });

    it("replaces the router when its NICs change, deleting the old one first (its fixed addresses)", async function () {
        const { id } = await w.router.create(routerArgs());
        const replaced = await w.router.up(
            id,
            routerArgs({
                nics: [
                    { networkId: publicNet, ip: "10.0.1.17" },
                    { networkId: privateNet, ip: "172.17.2.1" },
                ],
            }),
        );
        assert.deepStrictEqual(replaced.diff.replaces, ["nics"]);
        assert.strictEqual(replaced.diff.deleteBeforeReplace, true);
        assert.deepStrictEqual(replaced.outs.ips, ["10.0.1.17", "172.17.2.1"]);
    });

    it("deletes the router, its VMs (DONE) and its leases; a router deleted outside Pulumi is gone on refresh and deleting it again succeeds", async function () {
        const { id, outs } = await w.router.create(routerArgs());
        await w.router.delete(id);
        assert.strictEqual(childInt(await vmInfo(outs.vms[0].vmId), "STATE"), 6, "its VM is DONE");
        assert.deepStrictEqual(await leasesOf(w, publicNet), {});
        const other = await w.router.create(routerArgs());
        await w.client.call("one.vrouter.delete", Number(other.id));
        assert.strictEqual(await w.router.read(other.id), undefined);
        await w.router.provider.delete!(other.id, other.outs);
        await new Promise((resolve) => setTimeout(resolve, 100));
    });

    it("refuses a template that is not a virtual router template, and deletes the router again", async function () {
        const alpine = await w.app.create({ appName: "Alpine Linux 3.17", imageName: "not-a-router", datastoreId: 1 });
        await rejects(
            w.router.create(routerArgs({ templateId: alpine.outs.templateId })),
            /^virtual router \d+ was created but .*Only virtual router templates are allowed.*deleted again/,
        );
        await w.app.delete(alpine.id);
    });

    it("rejects bad input in check, naming the field, before any API call", async function () {
        const cases: [Record<string, unknown>, RegExp][] = [
            [routerArgs({ nics: [] }), /^nics: nics must list at least one NIC/],
            [routerArgs({ nics: undefined }), /^nics: nics must list at least one NIC/],
            [
                routerArgs({ nics: [{ networkId: 1, floatingOnly: true }] }),
                /^nics\[0\]\.floatingOnly: nics\[0\]\.floatingOnly needs floatingIp: true/,
            ],
            [
                routerArgs({ nics: [{ networkId: 1, floatingIp: "YES" }] }),
                /^nics\[0\]\.floatingIp: nics\[0\]\.floatingIp must be true or false/,
            ],
            [routerArgs({ vmCount: 0 }), /^vmCount: vmCount must be an integer from 1 to 10/],
            [routerArgs({ vmName: "vr/%i" }), /^vmName: vmName must not contain "\/"/],
            [
                routerArgs({ vmTemplate: { CONTEXT: { TOKEN: "YES" } } }),
                /^vmTemplate: vmTemplate must not set CONTEXT; use the context argument/,
            ],
            [routerArgs({ context: { "BAD KEY": "x" } }), /^context: /],
            [routerArgs({ templateId: undefined }), /^templateId: /],
        ];
        for (const [inputs, message] of cases) await rejects(w.router.create(inputs), message);
        assert.strictEqual(w.double.calls(), 0, "no XML-RPC call for invalid input");
    });

    it("the seed's router end to end: what EdgeVirtualRouter registers works against OpenNebula, and a private VM is reached through SDNAT", async function () {
        // The component under mocks, with the real network IDs and the exported appliance's template.
        let component: EdgeVirtualRouter | undefined;
        const program = await runProgram(() => {
            component = new EdgeVirtualRouter("router", {
                publicNetwork: { id: publicNet, addresses: [...SEED_POOL] },
                privateNetwork: { id: privateNet, gateway: "172.17.2.1", subnet: "172.17.2.0/24" },
                appliance: { templateId: appliance.outs.templateId },
                mappings: [{ privateIp: "172.17.2.10" }],
            });
        });
        const registered = program.named("router-vrouter").inputs;
        const { outs } = await w.router.create({
            name: registered.name,
            nics: registered.nics,
            templateId: registered.templateId,
            context: registered.context,
        });
        assert.deepStrictEqual(outs.ips, ["10.0.1.16", "172.17.2.1"]);

        // A private VM with the NIC and external alias the component hands out for it.
        const networking = component!.vmNetworking("172.17.2.10");
        const alpine = await w.app.create({ appName: "Alpine Linux 3.17", imageName: "sr", datastoreId: 1 });
        const sr = await w.vm.create({
            name: "sr-1",
            templateId: alpine.outs.templateId,
            nics: networking.nics,
            nicAliases: networking.nicAliases,
        });

        // What the appliance's SDNAT4 derives through OneGate: an EXTERNAL alias on a public lease → its parent NIC's private address.
        const derived = Object.fromEntries(
            sr.outs.aliases
                .filter((a: { external: boolean }) => a.external)
                .map((a: { parent: string; ip: string }) => {
                    const parent = sr.outs.interfaces.find((nic: { name: string }) => nic.name === a.parent);
                    return [a.ip, parent.ip];
                }),
        );
        const mapping = await new Promise((resolve) => component!.mapping.apply(resolve));
        assert.deepStrictEqual(derived, mapping);
        assert.deepStrictEqual(mapping, { "10.0.1.17": "172.17.2.10" });
        assert.deepStrictEqual(
            await leasesOf(w, publicNet),
            { "10.0.1.16": `VM ${outs.vms[0].vmId}`, "10.0.1.17": `VM ${sr.outs.oneId}` },
            "router and alias hold the public leases",
        );
        await w.vm.delete(sr.id);
        await w.app.delete(alpine.id);
    });

    describe("under injected faults", function () {
        it("never allocates the router twice after a reset that reached the server", async function () {
            w.double.inject({ kind: "reset", method: "one.vrouter.allocate", afterProcessing: true });
            await w.router.create(routerArgs());
            assert.strictEqual(w.double.calls("one.vrouter.allocate"), 1);
        });

        it("never starts the VMs twice after an instantiate reset that reached the server", async function () {
            w.double.inject({ kind: "reset", method: "one.vrouter.instantiate", afterProcessing: true });
            const { outs } = await w.router.create(routerArgs());
            assert.strictEqual(w.double.calls("one.vrouter.instantiate"), 1);
            assert.strictEqual(outs.vms.length, 1);
        });

        it("deletes the router again (its VMs DONE, its leases free) when its VM does not get to RUNNING", async function () {
            w.double.inject({ kind: "error", code: 8192, message: "[one.vm.info] Injected failure.", method: "one.vm.info" });
            await rejects(
                w.router.create(routerArgs()),
                /^virtual router \d+ was created but its virtual machine \d+ .*Injected failure.*deleted again/,
            );
            await new Promise((resolve) => setTimeout(resolve, 100));
            assert.deepStrictEqual(await leasesOf(w, publicNet), {});
        });

        it("deletes the router again when instantiate fails", async function () {
            w.double.inject({
                kind: "error",
                code: 16384,
                message: "[one.vrouter.instantiate] Error allocating a new virtual router. Injected.",
                method: "one.vrouter.instantiate",
            });
            await rejects(w.router.create(routerArgs()), /^virtual router \d+ was created but .*Injected.*deleted again/);
        });
    });
});

describe("VirtualMachine and VirtualRouter providers serialized the way the engine does", function () {
    let w: Workloads;
    let dir: string;
    const repo = path.resolve(__dirname, "../../..");
    before(async () => {
        w = await startWorkloads();
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "poe-serialize-workloads-"));
    });
    after(async () => {
        await w?.stop();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    for (const { label, provider, setup } of PROVIDER_CASES_WITH_SETUP) {
        it(`${label} runs check, create, read and delete from its serialized text in a new process`, async function () {
            const serialized = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
            const file = path.join(dir, `${label}.js`);
            fs.writeFileSync(file, serialized.text);
            const connection = { endpoint: w.double.endpoint, username: w.double.username, password: w.double.password };
            const prepared = await setup(w.client);
            try {
                const result = await runSerializedProvider(file, repo, { ...prepared.inputs(`ser-${label.toLowerCase()}`), connection });
                assert.ok(result.id, "create returned an id");
                assert.strictEqual(result.goneAfterDelete, true, "read after delete reports the object gone");
                assert.ok(!serialized.text.includes(w.double.password), "the serialized provider holds no credentials");
            } finally {
                await prepared.cleanup();
            }
            assert.deepStrictEqual(
                w.double.objects().filter((o) => !o.builtin),
                [],
                "nothing left behind",
            );
        });
    }
});
