// Tests of the OpenNebula double's virtual routers, over raw XML-RPC.
import * as assert from "assert";
import { OneDouble } from "../support/one-double";
import { OneTemplate } from "../support/double/template";
import { Raw, bool, int, str, waitFor } from "../support/raw-rpc";

const NET = (name: string, ip: string, size: number) =>
    `NAME = "${name}"\nVN_MAD = "bridge"\nAR = [ TYPE = "IP4", IP = "${ip}", SIZE = "${size}" ]`;
const VR_TEMPLATE = (name: string) =>
    `NAME = "${name}"\nCPU = "1"\nMEMORY = "512"\nVROUTER = "YES"\nCONTEXT = [ NETWORK = "YES", TOKEN = "YES" ]`;

describe("OneDouble virtual routers", function () {
    this.timeout(10000);
    let one: OneDouble;
    let rpc: Raw;
    let pub: number;
    let overlay: number;

    beforeEach(async () => {
        one = await OneDouble.start({ vnetCreateMs: 20, vmDeployMs: 200, vmActionMs: 200, imageReadyMs: 300 });
        rpc = new Raw(one);
        pub = await rpc.id("one.vn.allocate", str(NET("public", "203.0.113.10", 8)), int(-1));
        overlay = await rpc.id("one.vn.allocate", str(NET("overlay", "10.99.1.10", 8)), int(-1));
        for (const id of [pub, overlay]) await waitFor(async () => (await rpc.info("vn", id)).VNET.STATE === "1", "READY");
    });
    afterEach(async () => {
        await one.stop();
    });

    const leases = async (vnet: number) => {
        const ar = (await rpc.info("vn", vnet)).VNET.AR_POOL.AR[0];
        return ar.LEASES === ""
            ? []
            : (ar.LEASES.LEASE as any[]).map((l) => `${l.IP}:${l.VM !== undefined ? `VM${l.VM}` : `VR${l.VROUTER}`}`);
    };
    const vmState = async (id: number) => {
        const vm = (await rpc.info("vm", id)).VM;
        return `${vm.STATE}/${vm.LCM_STATE}`;
    };
    const router = (nics: string, name = "gw") => rpc.id("one.vrouter.allocate", str(`NAME = "${name}"\n${nics}`));

    it("allocate: a FLOATING_IP NIC takes a lease owned by the router (the requested IP=), stored as VROUTER_IP", async () => {
        const vr = await router(`NIC = [ NETWORK_ID = "${pub}", FLOATING_IP = "YES", IP = "203.0.113.12" ]\nNIC = [ NETWORK = "overlay" ]`);
        const info = (await rpc.info("vrouter", vr)).VROUTER;
        assert.strictEqual(info.NAME, "gw");
        assert.strictEqual(info.VMS, "");
        const [floating, plain] = info.TEMPLATE.NIC;
        assert.deepStrictEqual(
            [
                floating.NIC_ID,
                floating.NETWORK,
                floating.NETWORK_ID,
                floating.FLOATING_IP,
                floating.VROUTER_IP,
                floating.VROUTER_MAC,
                floating.AR_ID,
                floating.IP,
                floating.MAC,
            ],
            ["0", "public", String(pub), "YES", "203.0.113.12", "02:00:cb:00:71:0c", "0", undefined, undefined],
        );
        assert.deepStrictEqual(plain, { NETWORK: "overlay", NETWORK_ID: String(overlay), NIC_ID: "1" }, "no lease without FLOATING_IP");
        assert.deepStrictEqual(await leases(pub), ["203.0.113.12:VR0"]);
        assert.deepStrictEqual(await leases(overlay), []);
        assert.deepStrictEqual((await rpc.info("vn", pub)).VNET.VROUTERS.ID, [String(vr)]);
        assert.deepStrictEqual((await rpc.info("vn", overlay)).VNET.VROUTERS.ID, [String(vr)]);
        assert.strictEqual(await router(`NIC = [ NETWORK_ID = "${pub}" ]`), vr + 1, "names need not be unique");
        const pool = await rpc.pool("one.vrouterpool.info", int(-2), int(-1), int(-1));
        assert.deepStrictEqual(
            pool.map((p) => [p.ID, p.NAME]),
            [
                ["0", "gw"],
                ["1", "gw"],
            ],
        );
    });

    it("allocate failures are INTERNAL, give back the leases taken and consume no ID", async () => {
        await router(`NIC = [ NETWORK_ID = "${pub}", FLOATING_IP = "YES", IP = "203.0.113.12" ]`);
        assert.deepStrictEqual(
            await rpc.fail(
                "one.vrouter.allocate",
                str(
                    `NAME = "b"\nNIC = [ NETWORK_ID = "${overlay}", FLOATING_IP = "YES" ]\nNIC = [ NETWORK_ID = "${pub}", FLOATING_IP = "YES", IP = "203.0.113.12" ]`,
                ),
            ),
            { message: `[one.vrouter.allocate] Cannot get IP/MAC lease from virtual network ${pub}.`, code: 8192, objectId: -1 },
        );
        assert.deepStrictEqual(await leases(overlay), [], "the first NIC's lease was given back");
        assert.deepStrictEqual((await rpc.info("vn", overlay)).VNET.VROUTERS, "");
        assert.strictEqual(
            (await rpc.fail("one.vrouter.allocate", str(`NAME = "c"\nNIC = [ NETWORK_ID = "${pub}", NETWORK_MODE = "auto" ]`))).message,
            "[one.vrouter.allocate] Virtual Router is incompatible with auto mode",
        );
        assert.strictEqual(
            (await rpc.fail("one.vrouter.allocate", str(`NIC = [ NETWORK_ID = "${pub}" ]`))).message,
            "[one.vrouter.allocate] Invalid NAME, it cannot be empty",
        );
        assert.strictEqual(await router(""), 1);
    });

    it("update keeps the NICs (replace and merge); rename allows any name", async () => {
        const vr = await router(`NIC = [ NETWORK_ID = "${pub}", FLOATING_IP = "YES" ]\nKEEPALIVED_ID = "7"`);
        await router("", "other");
        await rpc.id("one.vrouter.update", int(vr), str(`DESCRIPTION = "edge"\nNIC = [ NETWORK_ID = "${overlay}" ]`), int(0));
        let t = (await rpc.info("vrouter", vr)).VROUTER.TEMPLATE;
        assert.strictEqual(t.DESCRIPTION, "edge");
        assert.strictEqual(t.KEEPALIVED_ID, undefined, "replace drops the rest");
        assert.deepStrictEqual(
            t.NIC.map((n: any) => n.NETWORK),
            ["public"],
        );
        await rpc.id("one.vrouter.update", int(vr), str(`NIC = [ NETWORK_ID = "${overlay}" ]\nKEEPALIVED_ID = "9"`), int(1));
        t = (await rpc.info("vrouter", vr)).VROUTER.TEMPLATE;
        assert.deepStrictEqual(
            t.NIC.map((n: any) => n.NETWORK),
            ["public"],
        );
        assert.strictEqual(t.KEEPALIVED_ID, "9");
        assert.strictEqual(await rpc.id("one.vrouter.rename", int(vr), str("other")), vr);
        assert.strictEqual((await rpc.info("vrouter", vr)).VROUTER.NAME, "other");
    });

    it("instantiate only from templates with VROUTER=YES", async () => {
        const vr = await router(`NIC = [ NETWORK_ID = "${pub}" ]`);
        const plain = await rpc.id("one.template.allocate", str('NAME = "plain"\nCPU = "1"\nMEMORY = "128"'));
        assert.deepStrictEqual(await rpc.fail("one.vrouter.instantiate", int(vr), int(1), int(plain), str(""), bool(false), str("")), {
            message: "[one.vrouter.instantiate] Only virtual router templates are allowed",
            code: 2048,
            objectId: -1,
        });
        assert.deepStrictEqual(await rpc.fail("one.vrouter.instantiate", int(vr), int(1), int(-1), str(""), bool(false), str("")), {
            message: "[one.vrouter.instantiate] A template ID was not provided, and the virtual router does not have a default one",
            code: 2048,
            objectId: -1,
        });
        assert.deepStrictEqual(await rpc.fail("one.vrouter.instantiate", int(vr), int(1), int(42), str(""), bool(false), str("")), {
            message: "[one.vrouter.instantiate] Error getting virtual machine template [42].",
            code: 1024,
            objectId: 42,
        });
        assert.strictEqual(one.objects().filter((o) => o.kind === "vm").length, 0);
    });

    it("instantiate n VMs named vr-<router>-<i>, each with a copy of the NICs, its own lease and VROUTER_ID", async () => {
        const vr = await router(
            `NIC = [ NETWORK_ID = "${pub}", FLOATING_IP = "YES" ]\nNIC = [ NETWORK_ID = "${overlay}", FLOATING_IP = "YES", FLOATING_ONLY = "YES" ]\nKEEPALIVED_PASSWORD = "s3cret"`,
        );
        const tmpl = await rpc.id("one.template.allocate", str(VR_TEMPLATE("vr-tmpl")));
        assert.strictEqual(
            await rpc.id("one.vrouter.instantiate", int(vr), int(2), int(tmpl), str(""), bool(false), str('MEMORY = "256"')),
            vr,
        );
        const info = (await rpc.info("vrouter", vr)).VROUTER;
        assert.deepStrictEqual(info.VMS.ID, ["0", "1"]);
        assert.strictEqual(info.TEMPLATE.TEMPLATE_ID, String(tmpl));
        for (const [i, id] of [0, 1].entries()) {
            const vm = (await rpc.info("vm", id)).VM;
            assert.strictEqual(vm.NAME, `vr-gw-${i}`);
            assert.strictEqual(vm.STATE, "1", "created on hold, then released");
            assert.strictEqual(vm.TEMPLATE.MEMORY, "256", "extra applies");
            assert.strictEqual(vm.TEMPLATE.VROUTER_ID, String(vr));
            assert.strictEqual(vm.TEMPLATE.VROUTER_KEEPALIVED_ID, String((vr % 255) + 1));
            assert.strictEqual(vm.TEMPLATE.VROUTER_KEEPALIVED_PASSWORD, "s3cret");
            assert.deepStrictEqual(vm.TEMPLATE.CONTEXT, { NETWORK: "YES", TOKEN: "YES" });
            const [publicNic, overlayNic] = vm.TEMPLATE.NIC;
            assert.strictEqual(publicNic.VROUTER_IP, "203.0.113.10");
            assert.strictEqual(publicNic.IP, `203.0.113.${11 + i}`);
            assert.strictEqual(overlayNic.IP, undefined, "FLOATING_ONLY: no own lease");
            assert.match(overlayNic.MAC, /^02:00:/);
            assert.strictEqual(overlayNic.VROUTER_IP, "10.99.1.10");
        }
        assert.deepStrictEqual(await leases(pub), ["203.0.113.10:VR0", "203.0.113.11:VM0", "203.0.113.12:VM1"]);
        assert.deepStrictEqual(await leases(overlay), ["10.99.1.10:VR0"]);
        await waitFor(async () => (await vmState(0)) === "3/3" && (await vmState(1)) === "3/3", "RUNNING");
        await rpc.id("one.vrouter.instantiate", int(vr), int(1), int(-1), str("edge-%i-x"), bool(true), str(""));
        const third = (await rpc.info("vm", 2)).VM;
        assert.strictEqual(third.NAME, "edge-0-x");
        assert.strictEqual(third.STATE, "2", "hold keeps it on hold");
        assert.deepStrictEqual((await rpc.info("vrouter", vr)).VROUTER.VMS.ID, ["0", "1", "2"]);
        assert.deepStrictEqual(await rpc.fail("one.vm.attachnic", int(0), str(`NIC = [ NETWORK_ID = "${pub}" ]`)), {
            message: "[one.vm.attachnic] Action is not supported for virtual router VMs",
            code: 2048,
            objectId: -1,
        });
    });

    it("instantiate fails as a whole when a VM cannot get a lease, deleting the VMs already created", async () => {
        const tiny = await rpc.id("one.vn.allocate", str(NET("tiny", "10.1.0.10", 2)), int(-1));
        await waitFor(async () => (await rpc.info("vn", tiny)).VNET.STATE === "1", "READY");
        const vr = await router(`NIC = [ NETWORK_ID = "${tiny}", FLOATING_IP = "YES" ]`);
        const tmpl = await rpc.id("one.template.allocate", str(VR_TEMPLATE("t")));
        assert.deepStrictEqual(await rpc.fail("one.vrouter.instantiate", int(vr), int(2), int(tmpl), str(""), bool(false), str("")), {
            message: `[one.vrouter.instantiate] Error allocating a new virtual router. Cannot get IP/MAC lease from virtual network ${tiny}.`,
            code: 16384,
            objectId: -1,
        });
        assert.strictEqual(await vmState(0), "6/0", "the first VM was deleted");
        assert.deepStrictEqual(await leases(tiny), ["10.1.0.10:VR0"]);
        assert.strictEqual((await rpc.info("vrouter", vr)).VROUTER.VMS, "");
    });

    it("delete: the floating leases go at once, the VMs are terminated and give theirs back", async () => {
        const vr = await router(`NIC = [ NETWORK_ID = "${pub}", FLOATING_IP = "YES" ]`);
        const tmpl = await rpc.id("one.template.allocate", str(VR_TEMPLATE("t")));
        await rpc.id("one.vrouter.instantiate", int(vr), int(1), int(tmpl), str(""), bool(false), str(""));
        await waitFor(async () => (await vmState(0)) === "3/3", "RUNNING");
        await rpc.id("one.vrouter.instantiate", int(vr), int(1), int(tmpl), str(""), bool(true), str(""));
        assert.deepStrictEqual(await leases(pub), ["203.0.113.10:VR0", "203.0.113.11:VM0", "203.0.113.12:VM1"]);
        assert.strictEqual(await rpc.id("one.vrouter.delete", int(vr)), vr);
        assert.strictEqual(await rpc.exists("vrouter", vr), false);
        assert.strictEqual((await rpc.info("vn", pub)).VNET.VROUTERS, "");
        assert.strictEqual(await vmState(1), "6/0", "a VM on hold is done at once");
        assert.strictEqual(await vmState(0), "3/12", "a running VM shuts down first");
        assert.deepStrictEqual(await leases(pub), ["203.0.113.11:VM0"]);
        assert.strictEqual(
            (await rpc.fail("one.vn.delete", int(pub))).message,
            "[one.vn.delete] Cannot delete virtual network. Can not remove a virtual network with leases in use",
        );
        await waitFor(async () => (await vmState(0)) === "6/0", "DONE");
        assert.deepStrictEqual(await leases(pub), []);
        assert.strictEqual(await rpc.id("one.vn.delete", int(pub)), pub);
        assert.deepStrictEqual(
            one
                .objects()
                .filter((o) => !o.builtin)
                .map((o) => `${o.kind}/${o.id}`),
            [`vnet/${pub}`, `vnet/${overlay}`, `vmtemplate/${tmpl}`],
            "the VNET is still being deleted; no VM or router is left",
        );
    });

    it("export the Service Virtual Router app the way the client does, and run it", async () => {
        const app = (await rpc.info("marketapp", 2)).MARKETPLACEAPP;
        const imageText = `${Buffer.from(app.APPTEMPLATE64, "base64").toString()}NAME = "vr-image"\nFROM_APP = "2"`;
        const image = await rpc.id("one.image.allocate", str(imageText), int(1));
        await waitFor(async () => (await rpc.info("image", image)).IMAGE.STATE === "1", "image READY");
        const vmText = `${Buffer.from(app.TEMPLATE.VMTEMPLATE64, "base64").toString()}\nNAME = "vr-template"\nDISK = [ IMAGE_ID = "${image}" ]`;
        const tmpl = await rpc.id("one.template.allocate", str(vmText));
        const vr = await router(`NIC = [ NETWORK_ID = "${pub}", FLOATING_IP = "YES" ]\nNIC = [ NETWORK_ID = "${overlay}" ]`);
        const extra =
            'CONTEXT = [ NETWORK = "YES", TOKEN = "YES", ONEAPP_VNF_SDNAT4_ENABLED = "YES", ONEAPP_VNF_SDNAT4_INTERFACES = "eth0 eth1" ]';
        await rpc.id("one.vrouter.instantiate", int(vr), int(1), int(tmpl), str(""), bool(false), str(extra));
        await waitFor(async () => (await vmState(0)) === "3/3", "RUNNING");
        const vm = (await rpc.info("vm", 0)).VM;
        assert.strictEqual(vm.TEMPLATE.CONTEXT.ONEAPP_VNF_SDNAT4_INTERFACES, "eth0 eth1");
        assert.strictEqual(vm.TEMPLATE.DISK[0].IMAGE, "vr-image");
        assert.strictEqual(vm.USER_TEMPLATE.VROUTER, "YES");
        assert.strictEqual((await rpc.info("image", image)).IMAGE.STATE, "2");
        assert.strictEqual(OneTemplate.parse(Buffer.from(app.TEMPLATE.VMTEMPLATE64, "base64").toString()).get("VROUTER"), "YES");
    });

    it("count calls and take injected faults on the new methods like on any other", async () => {
        one.resetCounts();
        one.inject({ kind: "error", code: 8192, message: "Error replicating log entry", method: "one.vrouter.allocate" });
        assert.deepStrictEqual(await rpc.fail("one.vrouter.allocate", str('NAME = "x"')), {
            message: "[one.vrouter.allocate] Error replicating log entry",
            code: 8192,
            objectId: -1,
        });
        one.inject({ kind: "reset", method: "one.vrouter.allocate", afterProcessing: true });
        await assert.rejects(rpc.send("one.vrouter.allocate", str('NAME = "y"')));
        assert.deepStrictEqual(
            one
                .objects()
                .filter((o) => o.kind === "vrouter")
                .map((o) => o.name),
            ["y"],
            "executed before the reset, once",
        );
        one.inject({ kind: "fault", faultCode: -32603, faultString: "Internal error", method: "one.vm.info" });
        assert.deepStrictEqual(await rpc.fault("one.vm.info", int(0)), { code: -32603, message: "Internal error" });
        assert.strictEqual(one.calls("one.vrouter.allocate"), 2);
        assert.strictEqual(one.calls("one.vm.info"), 1);
    });

    it("leave the VMs of a router instantiated while its image is still LOCKED in HOLD, as oned does", async () => {
        const image = await rpc.id("one.image.allocate", str('NAME = "img"\nTYPE = "OS"\nPATH = "/var/tmp/vr.qcow2"'), int(1));
        const tmpl = await rpc.id("one.template.allocate", str(`${VR_TEMPLATE("t")}\nDISK = [ IMAGE_ID = "${image}" ]`));
        const vr = await router(`NIC = [ NETWORK_ID = "${pub}" ]`);
        await rpc.id("one.vrouter.instantiate", int(vr), int(1), int(tmpl), str(""), bool(false), str(""));
        assert.strictEqual(await vmState(0), "10/0", "CLONING: the release after creation does not apply");
        await waitFor(async () => (await vmState(0)) === "2/0", "HOLD once the image is copied (SUBMIT_ON_HOLD)");
        assert.strictEqual((await rpc.info("vm", 0)).VM.TEMPLATE.SUBMIT_ON_HOLD, "YES");
        await rpc.id("one.vm.action", str("release"), int(0));
        await waitFor(async () => (await vmState(0)) === "3/3", "RUNNING after release");
    });
});
