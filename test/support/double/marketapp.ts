/**
 * `one.marketapp.info` and `one.marketapppool.info`, with the apps a fresh front-end lists from the
 * "OpenNebula Public" marketplace (ID 0): two Alpine Linux images and the Service Virtual Router
 * appliance. They are built in and READY. There is no `one.marketapp.export`: exporting an app is
 * done by the client (image allocate with FROM_APP, then a VM template from VMTEMPLATE64).
 */
import type { MarketAppObject } from "./objects";
import { MarketAppState } from "./objects";
import type { MethodTable } from "./methods";
import { filteredPoolInfo, infoMethod } from "./methods";
import { OneTemplate } from "./template";
import type { World } from "./world";
import { OWNER_USE_MANAGE, element, ownerXml, permissionsXml, textElement } from "./xml";

/** The public marketplace every fresh front-end has. */
export const PUBLIC_MARKETPLACE = { id: 0, name: "OpenNebula Public" } as const;

/** App `TYPE` 1: an image (optionally with a VM template in VMTEMPLATE64). */
const TYPE_IMAGE = 1;
/** When the built-in apps were "imported" (s since the epoch). */
const SEED_REGTIME = 1700000000;

/** The image template every built-in app exports (APPTEMPLATE64, decoded). */
const IMAGE_TEMPLATE = 'DEV_PREFIX = "vd"\nDRIVER = "qcow2"\nTYPE = "OS"\n';

/** The VM template of the Alpine apps (VMTEMPLATE64, decoded). */
const ALPINE_VM_TEMPLATE = [
    'CONTEXT = [ NETWORK = "YES", SSH_PUBLIC_KEY = "$USER[SSH_PUBLIC_KEY]" ]',
    'CPU = "1"',
    'GRAPHICS = [ LISTEN = "0.0.0.0", TYPE = "vnc" ]',
    'LOGO = "images/logos/linux.png"',
    'MEMORY = "256"',
    'OS = [ ARCH = "x86_64" ]',
].join("\n");

/** The VM template of the Service Virtual Router app: a virtual router template with OneGate access. */
const VROUTER_VM_TEMPLATE = [
    'CONTEXT = [ NETWORK = "YES", ONEAPP_VNF_NAT4_ENABLED = "$ONEAPP_VNF_NAT4_ENABLED", ' +
        'ONEAPP_VNF_NAT4_INTERFACES_OUT = "$ONEAPP_VNF_NAT4_INTERFACES_OUT", ' +
        'ONEAPP_VNF_SDNAT4_ENABLED = "$ONEAPP_VNF_SDNAT4_ENABLED", ' +
        'ONEAPP_VNF_SDNAT4_INTERFACES = "$ONEAPP_VNF_SDNAT4_INTERFACES", ' +
        'REPORT_READY = "YES", SSH_PUBLIC_KEY = "$USER[SSH_PUBLIC_KEY]", TOKEN = "YES" ]',
    'CPU = "1"',
    'GRAPHICS = [ LISTEN = "0.0.0.0", TYPE = "vnc" ]',
    'INPUTS_ORDER = "ONEAPP_VNF_NAT4_ENABLED,ONEAPP_VNF_NAT4_INTERFACES_OUT,ONEAPP_VNF_SDNAT4_ENABLED,ONEAPP_VNF_SDNAT4_INTERFACES"',
    'LOGO = "images/logos/alpine.png"',
    'MEMORY = "512"',
    'OS = [ ARCH = "x86_64" ]',
    'USER_INPUTS = [ ONEAPP_VNF_NAT4_ENABLED = "O|boolean|Enable NAT4||NO", ' +
        'ONEAPP_VNF_NAT4_INTERFACES_OUT = "O|text|NAT4 outgoing interfaces||", ' +
        'ONEAPP_VNF_SDNAT4_ENABLED = "O|boolean|Enable SDNAT4||NO", ' +
        'ONEAPP_VNF_SDNAT4_INTERFACES = "O|text|SDNAT4 interfaces||" ]',
    'VROUTER = "YES"',
].join("\n");

interface Seed {
    name: string;
    uuid: string;
    md5: string;
    size: number;
    version: string;
    description: string;
    vmTemplate: string;
}

const SEEDS: Seed[] = [
    {
        name: "Alpine Linux 3.13",
        uuid: "2f0d4a3e-5f0b-4e3c-9a43-5b3e1c6f1313",
        md5: "5a4f2b8e6c1d3f7a9b0c2d4e6f8a1313",
        size: 256,
        version: "3.13.5-20210823",
        description: "Alpine Linux 3.13 image with OpenNebula contextualization.",
        vmTemplate: ALPINE_VM_TEMPLATE,
    },
    {
        name: "Alpine Linux 3.17",
        uuid: "8c1e6b2a-3d4f-4a5b-8c6d-7e8f9a0b1717",
        md5: "9e8d7c6b5a4f3e2d1c0b9a8f7e6d1717",
        size: 256,
        version: "3.17.3-20230524",
        description: "Alpine Linux 3.17 image with OpenNebula contextualization.",
        vmTemplate: ALPINE_VM_TEMPLATE,
    },
    {
        name: "Service Virtual Router",
        uuid: "a7f3c1d2-9b8e-4f6a-b5c4-d3e2f1a0b9c8",
        md5: "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        size: 2048,
        version: "6.10.0-3-20240922",
        description: "Virtual Router appliance (Alpine based): routing, NAT4, SDNAT4, keepalived VIPs, DNS, DHCP4, LB, WireGuard.",
        vmTemplate: VROUTER_VM_TEMPLATE,
    },
];

/** Creates the built-in READY apps 0, 1, 2 of marketplace 0. */
export function seedMarketApps(world: World): void {
    SEEDS.forEach((seed, id) => world.marketapps.insertBuiltin(seededApp(id, seed)));
}

function seededApp(id: number, seed: Seed): MarketAppObject {
    return {
        id,
        name: seed.name,
        builtin: true,
        regtime: SEED_REGTIME,
        zoneId: "0",
        originId: "-1",
        source: `https://marketplace.opennebula.io//appliance/${seed.uuid}/download/0`,
        md5: seed.md5,
        size: seed.size,
        description: seed.description,
        version: seed.version,
        format: "qcow2",
        appTemplate64: base64(IMAGE_TEMPLATE),
        marketplaceId: PUBLIC_MARKETPLACE.id,
        marketplace: PUBLIC_MARKETPLACE.name,
        state: MarketAppState.READY,
        type: TYPE_IMAGE,
        template: OneTemplate.of({
            LINK: `https://marketplace.opennebula.io/appliance/${seed.uuid}`,
            VMTEMPLATE64: base64(seed.vmTemplate),
        }),
    };
}

/** Registers the marketplace app methods. */
export function registerMarketAppMethods(world: World, methods: MethodTable): void {
    methods.define("one.marketapp.info", infoMethod(world.marketapps, marketAppXml));
    methods.define("one.marketapppool.info", filteredPoolInfo("MARKETPLACEAPP_POOL", world.marketapps, marketAppXml));
}

/** `<MARKETPLACEAPP>` in `MarketPlaceApp::to_xml` order. */
export function marketAppXml(a: MarketAppObject): string {
    return element(
        "MARKETPLACEAPP",
        element("ID", a.id) +
            ownerXml() +
            element("REGTIME", a.regtime) +
            element("NAME", a.name) +
            textElement("ZONE_ID", a.zoneId) +
            textElement("ORIGIN_ID", a.originId) +
            textElement("SOURCE", a.source) +
            textElement("MD5", a.md5) +
            element("SIZE", a.size) +
            textElement("DESCRIPTION", a.description) +
            textElement("VERSION", a.version) +
            textElement("FORMAT", a.format) +
            textElement("APPTEMPLATE64", a.appTemplate64) +
            element("MARKETPLACE_ID", a.marketplaceId) +
            element("MARKETPLACE", a.marketplace) +
            element("STATE", a.state) +
            element("TYPE", a.type) +
            permissionsXml(OWNER_USE_MANAGE) +
            a.template.toXml(),
    );
}

function base64(text: string): string {
    return Buffer.from(text, "utf8").toString("base64");
}
