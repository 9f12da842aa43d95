// Tests of the OpenNebula double's VMs and network leases, over raw XML-RPC.
import * as assert from "assert";
import { OneDouble } from "../support/one-double";
import { Raw, bool, int, str, waitFor } from "../support/raw-rpc";

/** A bridge network with one IPv4 AR of `size` addresses from `ip`, plus extra AR attributes. */
const NET = (name: string, ip: string, size: number, arExtra = "", extra = "") =>
    `NAME = "${name}"\nVN_MAD = "bridge"\n${extra}AR = [ TYPE = "IP4", IP = "${ip}", SIZE = "${size}"${arExtra} ]`;
const VM = (nics: string) => `NAME = "vm"\nCPU = "1"\nMEMORY = "128"\n${nics}`;

describe("OneDouble VMs and network leases", function () {
    this.timeout(10000);
    let one: OneDouble;
    let rpc: Raw;

    beforeEach(async () => {
        // Long enough that a VM is still PENDING when a test acts on it, even on a busy machine.
        one = await OneDouble.start({ vnetCreateMs: 20, vmDeployMs: 400, vmActionMs: 150 });
        rpc = new Raw(one);
    });
    afterEach(async () => {
        await one.stop();
    });

    async function readyNet(template: string, cluster = -1): Promise<number> {
        const id = await rpc.id("one.vn.allocate", str(template), int(cluster));
        await waitFor(async () => (await rpc.info("vn", id)).VNET.STATE === "1", `VNET ${id} READY`);
        return id;
    }
    /** A VM from a one-off template holding `nics`. */
    async function vmWith(nics: string, name = ""): Promise<number> {
        const tmpl = await rpc.id("one.template.allocate", str(VM(nics).replace('NAME = "vm"', `NAME = "t${Math.random()}"`)));
        return rpc.id("one.template.instantiate", int(tmpl), str(name), bool(false), str(""));
    }
    async function instantiateFails(nics: string): Promise<{ message: string; code: number }> {
        const tmpl = await rpc.id("one.template.allocate", str(VM(nics).replace('NAME = "vm"', `NAME = "t${Math.random()}"`)));
        const failure = await rpc.fail("one.template.instantiate", int(tmpl), str(""), bool(false), str(""));
        return { message: failure.message, code: failure.code };
    }
    const vmState = async (id: number) => {
        const vm = (await rpc.info("vm", id)).VM;
        return `${vm.STATE}/${vm.LCM_STATE}`;
    };
    const leasesOf = async (vnet: number) => {
        const ar = (await rpc.info("vn", vnet)).VNET.AR_POOL.AR[0];
        return ar.LEASES === "" ? [] : ar.LEASES.LEASE;
    };

    it("go PENDING, then ACTIVE/RUNNING; each NIC takes a lease that the VNET shows", async () => {
        const net = await readyNet(NET("private", "10.0.0.10", 5));
        const vm = await vmWith(`NIC = [ NETWORK_ID = "${net}" ]`, "web");
        let info = (await rpc.info("vm", vm)).VM;
        assert.strictEqual(`${info.STATE}/${info.LCM_STATE}`, "1/0");
        const nic = info.TEMPLATE.NIC[0];
        assert.deepStrictEqual(
            [
                nic.IP,
                nic.MAC,
                nic.NETWORK,
                nic.NETWORK_ID,
                nic.NIC_ID,
                nic.NAME,
                nic.AR_ID,
                nic.TARGET,
                nic.BRIDGE,
                nic.CLUSTER_ID,
                nic.SECURITY_GROUPS,
            ],
            ["10.0.0.10", "02:00:0a:00:00:0a", "private", String(net), "0", "NIC0", "0", `one-${vm}-0`, `onebr${net}`, "0", "0"],
        );
        assert.strictEqual(info.TEMPLATE.AUTOMATIC_REQUIREMENTS, "(CLUSTER_ID = 0) & !(PUBLIC_CLOUD = YES) & !(PIN_POLICY = PINNED)");
        const vnet = (await rpc.info("vn", net)).VNET;
        assert.strictEqual(vnet.USED_LEASES, "1");
        assert.strictEqual(vnet.AR_POOL.AR[0].USED_LEASES, "1");
        assert.deepStrictEqual(vnet.AR_POOL.AR[0].LEASES.LEASE, [{ IP: "10.0.0.10", MAC: "02:00:0a:00:00:0a", VM: String(vm) }]);
        const pooled = (await rpc.pool("one.vnpool.info", int(-2), int(-1), int(-1)))[0];
        assert.strictEqual(pooled.AR_POOL.AR[0].ALLOCATED, ` 0 ${0x1000000000 + vm}`, "the pool shows the stored ALLOCATED pairs");
        await waitFor(async () => (await vmState(vm)) === "3/3", "RUNNING");
        info = (await rpc.info("vm", vm)).VM;
        assert.strictEqual(info.DEPLOY_ID, `one-${vm}`);
        assert.strictEqual(info.NAME, "web");
    });

    it("lease by IP= or by NETWORK name, and fail without a free or known address, consuming no VM ID", async () => {
        const net = await readyNet(NET("private", "10.0.0.10", 2));
        const a = await vmWith(`NIC = [ NETWORK = "private", IP = "10.0.0.11" ]`);
        assert.strictEqual((await rpc.info("vm", a)).VM.TEMPLATE.NIC[0].IP, "10.0.0.11");
        assert.deepStrictEqual(await instantiateFails(`NIC = [ NETWORK_ID = "${net}", IP = "10.0.0.11" ]`), {
            message: `[one.template.instantiate] Error allocating a new virtual machine template. Cannot get IP/MAC lease from virtual network ${net}.`,
            code: 16384,
        });
        const b = await vmWith(`NIC = [ NETWORK_ID = "${net}" ]`);
        assert.strictEqual(b, a + 1);
        assert.strictEqual((await rpc.info("vm", b)).VM.TEMPLATE.NIC[0].IP, "10.0.0.10");
        const full = await instantiateFails(`NIC = [ NETWORK_ID = "${net}" ]`);
        assert.strictEqual(
            full.message,
            `[one.template.instantiate] Error allocating a new virtual machine template. Cannot get IP/MAC lease from virtual network ${net}.`,
        );
        assert.strictEqual(
            (await instantiateFails(`NIC = [ NETWORK_ID = "99" ]`)).message,
            "[one.template.instantiate] Error allocating a new virtual machine template. Virtual network with ID: 99 does not exist",
        );
        assert.strictEqual(
            (await instantiateFails(`NIC = [ NETWORK = "nope" ]`)).message,
            "[one.template.instantiate] Error allocating a new virtual machine template. User 0 does not own a network with name: nope . Set NETWORK_UNAME or NETWORK_UID of owner in NIC.",
        );
        assert.strictEqual((await leasesOf(net)).length, 2, "failed VMs keep no lease");
        const next = await vmWith("");
        assert.strictEqual(next, b + 1, "failed VMs consume no ID");
    });

    it("give the first NIC that cannot be leased's error and roll back the leases of the others", async () => {
        const big = await readyNet(NET("big", "10.0.0.10", 10));
        const tiny = await readyNet(NET("tiny", "10.1.0.10", 1));
        await vmWith(`NIC = [ NETWORK_ID = "${tiny}" ]`);
        const failure = await instantiateFails(`NIC = [ NETWORK_ID = "${big}" ]\nNIC = [ NETWORK_ID = "${tiny}" ]`);
        assert.match(failure.message, new RegExp(`Cannot get IP/MAC lease from virtual network ${tiny}\\.$`));
        assert.deepStrictEqual(await leasesOf(big), []);
    });

    it("compute port ranges for port-forwarded ARs (leases 0 and 1 of PORT_START 9000, PORT_SIZE 100)", async () => {
        const net = await readyNet(NET("public", "192.168.23.2", 250, ', PORT_START = "9000", PORT_SIZE = "100"'));
        const first = await vmWith(`NIC = [ NETWORK_ID = "${net}" ]`);
        const second = await vmWith(`NIC = [ NETWORK_ID = "${net}" ]`);
        const ranges = async (vm: number) => {
            const nic = (await rpc.info("vm", vm)).VM.TEMPLATE.NIC[0];
            return [nic.IP, nic.EXTERNAL_PORT_RANGE, nic.INTERNAL_PORT_RANGE];
        };
        assert.deepStrictEqual(await ranges(first), ["192.168.23.2", "9001:9100", "1-100/9001"]);
        assert.deepStrictEqual(await ranges(second), ["192.168.23.3", "9101:9200", "1-100/9101"]);
        const leases = await leasesOf(net);
        assert.deepStrictEqual(
            leases.map((l: any) => [l.IP, l.EXTERNAL_PORT_RANGE, l.INTERNAL_PORT_RANGE, l.VM]),
            [
                ["192.168.23.2", "9001:9100", "1-100/9001", String(first)],
                ["192.168.23.3", "9101:9200", "1-100/9101", String(second)],
            ],
        );
        const requested = await vmWith(`NIC = [ NETWORK_ID = "${net}", IP = "192.168.23.251" ]`);
        assert.deepStrictEqual(await ranges(requested), ["192.168.23.251", "33901:34000", "1-100/33901"], "lease 249");
    });

    it("lease NIC_ALIAS with EXTERNAL=YES on another network, attached to its PARENT NIC", async () => {
        const overlay = await readyNet(NET("overlay", "10.99.1.10", 10));
        const pub = await readyNet(NET("public", "203.0.113.10", 4, "", 'GATEWAY = "203.0.113.1"\n'));
        const vm = await vmWith(
            `NIC = [ NETWORK_ID = "${overlay}" ]\nNIC_ALIAS = [ NETWORK_ID = "${pub}", PARENT = "NIC0", EXTERNAL = "YES" ]`,
        );
        const t = (await rpc.info("vm", vm)).VM.TEMPLATE;
        assert.strictEqual(t.NIC.length, 1);
        assert.strictEqual(t.NIC[0].ALIAS_IDS, "1");
        const alias = t.NIC_ALIAS[0];
        assert.deepStrictEqual(
            [
                alias.IP,
                alias.NETWORK,
                alias.NIC_ID,
                alias.PARENT,
                alias.PARENT_ID,
                alias.ALIAS_ID,
                alias.NAME,
                alias.EXTERNAL,
                alias.GATEWAY,
            ],
            ["203.0.113.10", "public", "1", "NIC0", "0", "0", "NIC0_ALIAS1", "YES", "203.0.113.1"],
        );
        assert.deepStrictEqual(
            (await leasesOf(pub)).map((l: any) => [l.IP, l.VM]),
            [["203.0.113.10", String(vm)]],
        );
        assert.strictEqual(
            (await instantiateFails(`NIC = [ NETWORK_ID = "${overlay}" ]\nNIC_ALIAS = [ NETWORK_ID = "${pub}", PARENT = "NIC7" ]`)).message,
            "[one.template.instantiate] Error allocating a new virtual machine template. NIC named NIC7 not found for alias",
        );
    });

    it("refuse to delete a VNET, or remove an AR, with leases in use; terminate gives the leases back", async () => {
        const net = await readyNet(NET("private", "10.0.0.10", 5));
        const vm = await vmWith(`NIC = [ NETWORK_ID = "${net}" ]`);
        assert.deepStrictEqual(await rpc.fail("one.vn.delete", int(net)), {
            message: "[one.vn.delete] Cannot delete virtual network. Can not remove a virtual network with leases in use",
            code: 2048,
            objectId: -1,
        });
        assert.deepStrictEqual(await rpc.fail("one.vn.rm_ar", int(net), int(0)), {
            message: "[one.vn.rm_ar] Address Range has leases in use",
            code: 8192,
            objectId: -1,
        });
        await waitFor(async () => (await vmState(vm)) === "3/3", "RUNNING");
        await rpc.id("one.vm.action", str("terminate"), int(vm));
        assert.strictEqual(await vmState(vm), "3/12", "SHUTDOWN while the driver works");
        assert.strictEqual((await leasesOf(net)).length, 1);
        await waitFor(async () => (await vmState(vm)) === "6/0", "DONE");
        assert.deepStrictEqual(await leasesOf(net), []);
        assert.notStrictEqual((await rpc.info("vm", vm)).VM.ETIME, "0");
        assert.deepStrictEqual(
            await rpc.pool("one.vmpool.info", int(-2), int(-1), int(-1), int(-1)),
            [],
            "DONE VMs leave the default listing",
        );
        assert.deepStrictEqual(
            (await rpc.pool("one.vmpool.info", int(-2), int(-1), int(-1), int(-2))).map((v) => v.ID),
            [String(vm)],
        );
        assert.strictEqual(one.objects().filter((o) => o.kind === "vm").length, 0);
        assert.strictEqual(await rpc.id("one.vn.delete", int(net)), net);
    });

    it("remove an AR with leases in use when forced", async () => {
        const net = await readyNet(NET("private", "10.0.0.10", 5));
        await vmWith(`NIC = [ NETWORK_ID = "${net}" ]`);
        assert.strictEqual(await rpc.id("one.vn.rm_ar", int(net), int(0), bool(true)), net);
        assert.strictEqual((await rpc.info("vn", net)).VNET.USED_LEASES, "0");
    });

    it("terminate a VM that never ran at once, and hand out the next address rather than the freed one", async () => {
        const net = await readyNet(NET("private", "10.0.0.10", 5));
        const a = await vmWith(`NIC = [ NETWORK_ID = "${net}" ]`);
        await vmWith(`NIC = [ NETWORK_ID = "${net}" ]`);
        await rpc.id("one.vm.action", str("terminate-hard"), int(a));
        assert.strictEqual(await vmState(a), "6/0");
        assert.deepStrictEqual(
            (await leasesOf(net)).map((l: any) => l.IP),
            ["10.0.0.11"],
        );
        const c = await vmWith(`NIC = [ NETWORK_ID = "${net}" ]`);
        assert.strictEqual(
            (await rpc.info("vm", c)).VM.TEMPLATE.NIC[0].IP,
            "10.0.0.12",
            "oned's rotating next index skips the freed 10.0.0.10",
        );
        assert.strictEqual(await rpc.id("one.vm.action", str("terminate"), int(a)), a, "terminating a DONE VM is a silent success");
    });

    it("follow one.vm.action: poweroff, resume, hold, release, and refuse actions in the wrong state", async () => {
        const vm = await vmWith("");
        assert.deepStrictEqual(await rpc.fail("one.vm.action", str("poweroff"), int(vm)), {
            message: '[one.vm.action] Error performing action "poweroff": This action is not available for state PENDING',
            code: 2048,
            objectId: -1,
        });
        await rpc.id("one.vm.action", str("hold"), int(vm));
        assert.strictEqual(await vmState(vm), "2/0");
        await rpc.id("one.vm.action", str("release"), int(vm));
        await waitFor(async () => (await vmState(vm)) === "3/3", "RUNNING");
        await rpc.id("one.vm.action", str("poweroff"), int(vm));
        assert.strictEqual(await vmState(vm), "3/18", "SHUTDOWN_POWEROFF");
        assert.deepStrictEqual(await rpc.fail("one.vm.action", str("terminate"), int(vm)), {
            message: `[one.vm.action] Error performing action "terminate": Could not terminate VM ${vm}, wrong state SHUTDOWN_POWEROFF.`,
            code: 2048,
            objectId: -1,
        });
        await waitFor(async () => (await vmState(vm)) === "8/0", "POWEROFF");
        await rpc.id("one.vm.action", str("resume"), int(vm));
        assert.strictEqual(await vmState(vm), "3/20", "BOOT_POWEROFF");
        await waitFor(async () => (await vmState(vm)) === "3/3", "RUNNING again");
        assert.deepStrictEqual(await rpc.fail("one.vm.action", str("fly"), int(vm)), {
            message: '[one.vm.action] Action "fly" is not supported',
            code: 2048,
            objectId: -1,
        });
        assert.deepStrictEqual(await rpc.fail("one.vm.action", str("terminate"), int(77)), {
            message: "[one.vm.action] Error getting virtual machine [77].",
            code: 1024,
            objectId: 77,
        });
    });

    it("hot-plug a NIC_ALIAS into a running VM and detach it, taking and giving back its lease", async () => {
        const overlay = await readyNet(NET("overlay", "10.99.1.10", 10));
        const pub = await readyNet(NET("public", "203.0.113.10", 4));
        const vm = await vmWith(`NIC = [ NETWORK_ID = "${overlay}" ]`);
        assert.deepStrictEqual(await rpc.fail("one.vm.attachnic", int(vm), str(`NIC_ALIAS = [ NETWORK_ID = "${pub}", PARENT = "NIC0" ]`)), {
            message: `[one.vm.attachnic] Could not add a new NIC to VM ${vm}, wrong state PENDING.`,
            code: 2048,
            objectId: -1,
        });
        await waitFor(async () => (await vmState(vm)) === "3/3", "RUNNING");
        await rpc.id("one.vm.attachnic", int(vm), str(`NIC_ALIAS = [ NETWORK_ID = "${pub}", PARENT = "NIC0", EXTERNAL = "YES" ]`));
        assert.strictEqual(await vmState(vm), "3/25", "HOTPLUG_NIC");
        let t = (await rpc.info("vm", vm)).VM.TEMPLATE;
        assert.deepStrictEqual(
            [t.NIC_ALIAS[0].IP, t.NIC_ALIAS[0].NIC_ID, t.NIC_ALIAS[0].NAME, t.NIC[0].ALIAS_IDS],
            ["203.0.113.10", "1", "NIC0_ALIAS1", "1"],
        );
        await waitFor(async () => (await vmState(vm)) === "3/3", "RUNNING after the hot-plug");
        assert.strictEqual(
            (await rpc.fail("one.vm.attachnic", int(vm), str(`NIC_ALIAS = [ NETWORK_ID = "${pub}", PARENT = "NIC5" ]`))).message,
            "[one.vm.attachnic] Alias not found.",
        );
        await rpc.id("one.vm.detachnic", int(vm), int(1));
        t = (await rpc.info("vm", vm)).VM.TEMPLATE;
        assert.strictEqual(t.NIC_ALIAS, undefined);
        assert.strictEqual(t.NIC[0].ALIAS_IDS, undefined);
        assert.deepStrictEqual(await leasesOf(pub), []);
        await waitFor(async () => (await vmState(vm)) === "3/3", "RUNNING after the detach");
        assert.strictEqual(
            (await rpc.fail("one.vm.detachnic", int(vm), int(4))).message,
            "[one.vm.detachnic] Could not detach NIC with NIC_ID 4, it does not exist.",
        );
    });

    it("rename (names need not be unique) and update the USER_TEMPLATE", async () => {
        const a = await vmWith("", "same");
        const b = await vmWith("", "other");
        assert.strictEqual(await rpc.id("one.vm.rename", int(b), str("same")), b);
        assert.strictEqual((await rpc.info("vm", b)).VM.NAME, "same");
        assert.strictEqual(
            (await rpc.fail("one.vm.rename", int(a), str("a:b"))).message,
            "[one.vm.rename] Invalid NAME, char ':' is not allowed",
        );
        await rpc.id("one.vm.update", int(a), str('LABELS = "web"\nOWNER = "team"'), int(1));
        await rpc.id("one.vm.update", int(a), str('OWNER = "ops"'), int(1));
        let info = (await rpc.info("vm", a)).VM;
        assert.strictEqual(info.USER_TEMPLATE.LABELS, "web");
        assert.strictEqual(info.USER_TEMPLATE.OWNER, "ops");
        assert.strictEqual(info.TEMPLATE.MEMORY, "128", "TEMPLATE is not touched");
        await rpc.id("one.vm.update", int(a), str('OWNER = "x"'));
        info = (await rpc.info("vm", a)).VM;
        assert.deepStrictEqual(info.USER_TEMPLATE, { OWNER: "x" }, "no type means replace");
    });

    it("require the NICs' networks to share a cluster", async () => {
        const c = await rpc.id("one.cluster.allocate", str("edge"));
        const a = await readyNet(NET("a", "10.0.0.10", 5));
        const b = await readyNet(NET("b", "10.1.0.10", 5), c);
        assert.strictEqual(
            (await instantiateFails(`NIC = [ NETWORK_ID = "${a}" ]\nNIC = [ NETWORK_ID = "${b}" ]`)).message,
            "[one.template.instantiate] Error allocating a new virtual machine template. Incompatible clusters in NIC. Network for NIC 1 is not in the same cluster as the one used by other VM elements (cluster 0)",
        );
        assert.deepStrictEqual(await leasesOf(a), [], "the first NIC's lease is given back");
    });

    it("list VMs by state with short bodies, and reject a state out of range", async () => {
        const net = await readyNet(NET("private", "10.0.0.10", 5));
        const running = await vmWith(`NIC = [ NETWORK_ID = "${net}" ]\nNIC_ALIAS = [ NETWORK_ID = "${net}", PARENT = "NIC0" ]`);
        await waitFor(async () => (await vmState(running)) === "3/3", "RUNNING");
        const held = await vmWith("");
        await rpc.id("one.vm.action", str("hold"), int(held));
        const all = await rpc.pool("one.vmpool.info", int(-2), int(-1), int(-1), int(-1));
        assert.deepStrictEqual(
            all.map((v) => v.ID),
            [String(running), String(held)],
        );
        assert.strictEqual(all[0].PERMISSIONS, undefined, "short bodies");
        assert.deepStrictEqual(
            all[0].TEMPLATE.NIC.map((n: any) => n.IP),
            ["10.0.0.10", "10.0.0.11"],
            "aliases are listed as NIC in the short body",
        );
        const onHold = await rpc.pool("one.vmpool.info", int(-2), int(-1), int(-1), int(2));
        assert.deepStrictEqual(
            onHold.map((v) => v.ID),
            [String(held)],
        );
        const extended = await rpc.pool("one.vmpool.infoextended", int(-2), int(-1), int(-1), int(-1));
        assert.strictEqual(extended[0].TEMPLATE.NIC_ALIAS[0].PARENT, "NIC0");
        assert.deepStrictEqual(await rpc.fail("one.vmpool.info", int(-2), int(-1), int(-1), int(12)), {
            message: "[one.vmpool.info] Incorrect filter_flag, state",
            code: 4096,
            objectId: -1,
        });
    });
});
