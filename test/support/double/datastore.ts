/**
 * `one.datastore.*` and `one.datastorepool.info`, with `Datastore::insert` validation against the
 * DS_MAD_CONF / TM_MAD_CONF tables of the stock `oned.conf` (6.10; 7.0 adds the `local` and
 * `netapp` transfer drivers), and the TM driver defaults copied into the template.
 */
import { Invalid, action, internal } from "./errors";
import type { DatastoreObject } from "./objects";
import { DatastoreType } from "./objects";
import type { MethodTable } from "./methods";
import { asInternal, clusterArgument, infoMethod, parseAllocateTemplate, renameMethod, unfilteredPoolInfo, updateMethod } from "./methods";
import { nameError, versionAtLeast } from "./names";
import type { Params } from "./params";
import { OneTemplate } from "./template";
import type { World } from "./world";
import type { Permissions } from "./xml";
import { element, idCollection, ownerXml, permissionsXml, textElement } from "./xml";

/** `DATASTORE_LOCATION` default plus the trailing slash oned appends. */
const DATASTORE_LOCATION = "/var/lib/one//datastores/";

/** DS_MAD_CONF: driver → REQUIRED_ATTRS. */
const DS_MADS: Record<string, string[]> = {
    ceph: ["DISK_TYPE", "BRIDGE_LIST"],
    dev: ["DISK_TYPE"],
    iscsi_libvirt: ["DISK_TYPE", "ISCSI_HOST"],
    dummy: [],
    fs: [],
    lvm: ["DISK_TYPE", "BRIDGE_LIST"],
    vcenter: ["VCENTER_INSTANCE_ID", "VCENTER_DS_REF", "VCENTER_DC_REF"],
    restic: ["RESTIC_PASSWORD"],
    rsync: ["RSYNC_HOST", "RSYNC_USER"],
};

/** One TM_MAD_CONF entry. */
interface TmConf {
    LN_TARGET: string;
    CLONE_TARGET: string;
    SHARED: "YES" | "NO";
    DS_MIGRATE?: "YES" | "NO";
    DRIVER?: string;
    DISK_TYPE?: string;
    ALLOW_ORPHANS?: string;
    /** TM_MAD_SYSTEM modes with their LN_TARGET_/CLONE_TARGET_/DISK_TYPE_ values. */
    systems?: Record<string, { LN_TARGET: string; CLONE_TARGET: string; DISK_TYPE: string }>;
}

const SSH_MODE = { LN_TARGET: "SYSTEM", CLONE_TARGET: "SYSTEM", DISK_TYPE: "FILE" };

/** TM_MAD_CONF of the stock oned.conf (6.8/6.10). */
const TM_MADS_6: Record<string, TmConf> = {
    dummy: { LN_TARGET: "NONE", CLONE_TARGET: "SYSTEM", SHARED: "YES", DS_MIGRATE: "YES" },
    lvm: { LN_TARGET: "NONE", CLONE_TARGET: "SELF", SHARED: "YES", DRIVER: "raw" },
    shared: {
        LN_TARGET: "NONE",
        CLONE_TARGET: "SYSTEM",
        SHARED: "YES",
        DS_MIGRATE: "YES",
        ALLOW_ORPHANS: "FORMAT",
        systems: { SSH: SSH_MODE },
    },
    fs_lvm: { LN_TARGET: "SYSTEM", CLONE_TARGET: "SYSTEM", SHARED: "YES", DRIVER: "raw", DISK_TYPE: "BLOCK" },
    fs_lvm_ssh: { LN_TARGET: "SYSTEM", CLONE_TARGET: "SYSTEM", SHARED: "YES", DRIVER: "raw", DISK_TYPE: "BLOCK" },
    qcow2: {
        LN_TARGET: "NONE",
        CLONE_TARGET: "SYSTEM",
        SHARED: "YES",
        DS_MIGRATE: "YES",
        DRIVER: "qcow2",
        ALLOW_ORPHANS: "FORMAT",
        systems: { SSH: SSH_MODE },
    },
    ssh: { LN_TARGET: "SYSTEM", CLONE_TARGET: "SYSTEM", SHARED: "NO", DS_MIGRATE: "YES", ALLOW_ORPHANS: "YES" },
    ceph: {
        LN_TARGET: "NONE",
        CLONE_TARGET: "SELF",
        SHARED: "YES",
        DS_MIGRATE: "NO",
        DRIVER: "raw",
        ALLOW_ORPHANS: "mixed",
        systems: { SSH: SSH_MODE, SHARED: { LN_TARGET: "NONE", CLONE_TARGET: "SELF", DISK_TYPE: "RBD" } },
    },
    iscsi_libvirt: { LN_TARGET: "NONE", CLONE_TARGET: "SELF", SHARED: "YES", DS_MIGRATE: "NO", DRIVER: "raw" },
    dev: {
        LN_TARGET: "NONE",
        CLONE_TARGET: "NONE",
        SHARED: "YES",
        DRIVER: "raw",
        systems: { SSH: SSH_MODE, SHARED: { LN_TARGET: "NONE", CLONE_TARGET: "SELF", DISK_TYPE: "FILE" } },
    },
    vcenter: { LN_TARGET: "NONE", CLONE_TARGET: "SYSTEM", SHARED: "YES" },
};

/** Transfer drivers 7.0 added. */
const TM_MADS_7: Record<string, TmConf> = {
    local: { LN_TARGET: "SYSTEM", CLONE_TARGET: "SYSTEM", SHARED: "NO", DS_MIGRATE: "YES", ALLOW_ORPHANS: "YES" },
    netapp: { LN_TARGET: "NONE", CLONE_TARGET: "SELF", SHARED: "YES", DRIVER: "raw" },
};

/** `Image::DiskType` names in enum order (ISCSI = 9). */
const DISK_TYPES = ["FILE", "CDROM", "BLOCK", "RBD", "RBD_CDROM", "GLUSTER", "GLUSTER_CDROM", "SHEEPDOG", "SHEEPDOG_CDROM", "ISCSI"];
const TYPE_NAMES = ["IMAGE_DS", "SYSTEM_DS", "FILE_DS", "BACKUP_DS"];
/** Group "use" is granted to every datastore (`group_u = 1`). */
const DATASTORE_PERMISSIONS: Permissions = { owner: [1, 1, 0], group: [1, 0, 0], other: [0, 0, 0] };

/** Creates the built-in datastores 0 "system", 1 "default", 2 "files" in cluster 0, as `DatastorePool`'s bootstrap does. */
export function seedDatastores(world: World): void {
    const builtins: [number, string][] = [
        [0, "NAME = system\nTYPE = SYSTEM_DS\nTM_MAD = ssh"],
        [1, "NAME = default\nTYPE = IMAGE_DS\nDS_MAD = fs\nTM_MAD = ssh"],
        [2, "NAME = files\nTYPE = FILE_DS\nDS_MAD = fs\nTM_MAD = ssh"],
    ];
    for (const [id, text] of builtins) {
        const template = OneTemplate.parse(text);
        const name = template.get("NAME") ?? "";
        const ds = newDatastore(world, id, name, template, true);
        world.datastores.insertBuiltin(ds);
        world.join("datastore", id, 0);
    }
}

/** Registers the datastore methods. */
export function registerDatastoreMethods(world: World, methods: MethodTable): void {
    const pool = world.datastores;
    const render = (d: DatastoreObject) => datastoreXml(world, d);
    methods.define("one.datastore.allocate", (params) => allocate(world, params));
    methods.define("one.datastore.delete", (params) => remove(world, params.int(1)));
    methods.define("one.datastore.info", infoMethod(pool, render));
    methods.define(
        "one.datastore.update",
        updateMethod(pool, (ds, candidate) => applyTemplate(world, ds, candidate)),
    );
    methods.define("one.datastore.rename", renameMethod(pool));
    methods.define("one.datastorepool.info", unfilteredPoolInfo("DATASTORE_POOL", pool, render));
}

/** `<DATASTORE>` in §6 order; IMAGES lists the images it holds. */
export function datastoreXml(world: World, d: DatastoreObject): string {
    return element(
        "DATASTORE",
        element("ID", d.id) +
            ownerXml() +
            element("NAME", d.name) +
            permissionsXml(DATASTORE_PERMISSIONS) +
            textElement("DS_MAD", d.dsMad) +
            textElement("TM_MAD", d.tmMad) +
            textElement("BASE_PATH", d.basePath) +
            element("TYPE", d.type) +
            element("DISK_TYPE", d.diskType) +
            element("STATE", d.state) +
            idCollection("CLUSTERS", d.clusters) +
            element("TOTAL_MB", 0) +
            element("FREE_MB", 0) +
            element("USED_MB", 0) +
            idCollection("IMAGES", imagesIn(world, d.id)) +
            d.template.toXml(),
    );
}

/** `one.datastore.allocate(template, cluster)`: parse, cluster, name, uniqueness, then `Datastore::insert`. */
function allocate(world: World, params: Params): number {
    const template = parseAllocateTemplate(params.string(1), "Datastore");
    const clusterId = clusterArgument(world, params, 2);
    const name = template.getOrEmpty("NAME");
    const invalid = nameError(name);
    if (invalid) throw internal(invalid);
    world.datastores.assertNameFree(name);
    const ds = asInternal(() => newDatastore(world, world.datastores.peekNextId(), name, template, false));
    world.datastores.insert(ds);
    world.join("datastore", ds.id, clusterId);
    return ds.id;
}

/** The IDs of the images stored in datastore `id`. */
function imagesIn(world: World, id: number): number[] {
    return world.images
        .list()
        .filter((image) => image.datastoreId === id)
        .map((image) => image.id);
}

/** `DatastorePool::drop`: refused while the datastore holds images. */
function remove(world: World, id: number): number {
    world.datastores.get(id);
    if (imagesIn(world, id).length > 0) throw action(`Cannot delete datastore. Datastore ${id} is not empty.`);
    world.leaveAll("datastore", id);
    world.datastores.remove(id);
    return id;
}

/** `Datastore::insert` on `template` (modified in place). @throws Invalid with oned's message. */
function newDatastore(world: World, id: number, name: string, template: OneTemplate, builtin: boolean): DatastoreObject {
    template.erase("NAME");
    const type = typeFromString(template.getOrEmpty("TYPE"));
    let dsMad = template.getOrEmpty("DS_MAD");
    if (type === DatastoreType.SYSTEM_DS) {
        if (dsMad !== "") throw new Invalid("SYSTEM datastores cannot have DS_MAD defined.");
        dsMad = "-";
    } else if (dsMad === "") {
        throw new Invalid("No DS_MAD in template.");
    }
    checkDsMad(world, type, dsMad, template);
    let tmMad = template.getOrEmpty("TM_MAD");
    if (type === DatastoreType.BACKUP_DS) tmMad = "-";
    else applyTmMad(world, type, tmMad, template);
    template.remove("BASE_PATH");
    const diskType = applyDiskType(type, template.erase("DISK_TYPE"), template);
    if (template.getOrEmpty("SAFE_DIRS") === "" && template.getOrEmpty("RESTRICTED_DIRS") === "") {
        template.replace("SAFE_DIRS", "/var/tmp");
        template.replace("RESTRICTED_DIRS", "/");
    }
    return {
        id,
        name,
        builtin,
        clusters: new Set(),
        dsMad,
        tmMad,
        basePath: `${DATASTORE_LOCATION}${id}`,
        type,
        diskType,
        state: 0,
        template,
    };
}

/** `Datastore::str_to_type`: case-insensitive; anything unknown (or nothing) is IMAGE_DS. */
function typeFromString(text: string): number {
    const index = TYPE_NAMES.indexOf(text.toUpperCase());
    return index < 0 ? DatastoreType.IMAGE_DS : index;
}

/** `Datastore::set_ds_mad`: the driver must be configured and its REQUIRED_ATTRS present (not for SYSTEM_DS). */
function checkDsMad(world: World, type: number, dsMad: string, template: OneTemplate): void {
    if (type === DatastoreType.SYSTEM_DS) return;
    const required = dsMadsOf(world)[dsMad];
    if (!required) throw new Invalid(`DS_MAD named "${dsMad}" is not defined in oned.conf`);
    for (const attribute of required) {
        if (template.getOrEmpty(attribute) === "") {
            throw new Invalid(`Datastore template is missing the "${attribute}" attribute or it's empty.`);
        }
    }
}

/** `Datastore::set_tm_mad`: validates the driver and writes its TM_MAD_CONF defaults into the template. */
function applyTmMad(world: World, type: number, tmMad: string, template: OneTemplate): void {
    if (tmMad === "") throw new Invalid("No TM_MAD in template.");
    const conf = tmConfs(world)[tmMad];
    if (!conf) throw new Invalid(`TM_MAD named "${tmMad}" is not defined in oned.conf`);
    if (type === DatastoreType.SYSTEM_DS) {
        template.replace("SHARED", conf.SHARED);
        template.replace("DS_MIGRATE", conf.DS_MIGRATE ?? "YES");
        template.remove("LN_TARGET");
        template.remove("CLONE_TARGET");
    } else {
        const systems = Object.entries(conf.systems ?? {});
        if (systems.length > 0) template.replace("TM_MAD_SYSTEM", systems.map(([mode]) => mode.toLowerCase()).join(","));
        for (const [mode, values] of systems) {
            template.replace(`LN_TARGET_${mode}`, values.LN_TARGET);
            template.replace(`CLONE_TARGET_${mode}`, values.CLONE_TARGET);
            template.replace(`DISK_TYPE_${mode}`, values.DISK_TYPE);
        }
        template.replace("LN_TARGET", conf.LN_TARGET);
        template.replace("CLONE_TARGET", conf.CLONE_TARGET);
        if (conf.DRIVER) template.replace("DRIVER", conf.DRIVER);
        if (conf.DISK_TYPE) template.replace("DISK_TYPE", conf.DISK_TYPE);
        template.remove("SHARED");
    }
    template.replace("ALLOW_ORPHANS", conf.ALLOW_ORPHANS ?? "NO");
}

/** TM_MAD_CONF of the double's version: 7.0 adds `local` and `netapp` and drops `vcenter` (measured on 7.0.2). */
function tmConfs(world: World): Record<string, TmConf> {
    if (!versionAtLeast(world.options.version, 7, 0, 0)) return TM_MADS_6;
    const { vcenter: _vcenter, ...kept } = TM_MADS_6;
    return { ...kept, ...TM_MADS_7 };
}

/** DS_MAD_CONF of the double's version: 7.0 drops `vcenter`. */
function dsMadsOf(world: World): Record<string, string[]> {
    if (!versionAtLeast(world.options.version, 7, 0, 0)) return DS_MADS;
    const { vcenter: _vcenter, ...kept } = DS_MADS;
    return kept;
}

/** `Datastore::set_ds_disk_type`: FILE by default; checked per datastore type; written back for IMAGE/SYSTEM. */
function applyDiskType(type: number, text: string, template: OneTemplate): number {
    let diskType = text === "" ? 0 : DISK_TYPES.indexOf(text.toUpperCase());
    if (diskType < 0) throw new Invalid("Unknown DISK_TYPE in template.");
    const name = DISK_TYPES[diskType];
    if (type === DatastoreType.IMAGE_DS && name.endsWith("CDROM")) throw new Invalid("Invalid DISK_TYPE for an Image Datastore.");
    if (type === DatastoreType.SYSTEM_DS && !["FILE", "RBD", "BLOCK"].includes(name)) {
        throw new Invalid("Invalid DISK_TYPE for a System Datastore.");
    }
    if (type === DatastoreType.FILE_DS || type === DatastoreType.BACKUP_DS) diskType = 0;
    else template.add("DISK_TYPE", DISK_TYPES[diskType]);
    return diskType;
}

/**
 * `Datastore::post_update_template`: TYPE (kept when absent; datastore 0 stays SYSTEM, BACKUP stays
 * BACKUP), DISK_TYPE, TM_MAD and DS_MAD (kept and written back when absent), then the DS_MAD checks.
 */
function applyTemplate(world: World, ds: DatastoreObject, candidate: OneTemplate): void {
    const typeText = candidate.getOrEmpty("TYPE");
    let type = typeText === "" ? ds.type : typeFromString(typeText);
    if (ds.id === 0) type = DatastoreType.SYSTEM_DS;
    else if (ds.type === DatastoreType.BACKUP_DS) type = DatastoreType.BACKUP_DS;
    candidate.replace("TYPE", TYPE_NAMES[type]);
    const diskTypeText = candidate.erase("DISK_TYPE");
    const diskType = diskTypeText === "" ? ds.diskType : applyDiskType(type, diskTypeText, candidate);
    let tmMad = ds.tmMad;
    const newTm = candidate.getOrEmpty("TM_MAD");
    if (newTm !== "" && type !== DatastoreType.BACKUP_DS) {
        applyTmMad(world, type, newTm, candidate);
        tmMad = newTm;
    } else {
        candidate.replace("TM_MAD", tmMad);
    }
    let dsMad = ds.dsMad;
    const newDs = candidate.getOrEmpty("DS_MAD");
    if (type === DatastoreType.SYSTEM_DS) {
        dsMad = "-";
        candidate.remove("DS_MAD");
    } else if (newDs === "") {
        candidate.replace("DS_MAD", dsMad);
    } else {
        dsMad = newDs;
    }
    checkDsMad(world, type, dsMad, candidate);
    Object.assign(ds, { type, diskType, tmMad, dsMad, template: candidate });
}
