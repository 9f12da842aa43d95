/**
 * `one.image.*` and `one.imagepool.info`. A new image is LOCKED while the datastore driver copies it
 * (`imageReadyMs`), then READY with a SOURCE in its datastore. `FROM_APP=<app id>` makes the copy
 * come from a marketplace app (its SOURCE, size and format). Deletion is asynchronous — DELETE for
 * `imageDeleteMs`, then gone — except for an image whose copy has not finished, which goes at once.
 * VMs acquire images through their DISKs: READY → USED (USED_PERS when persistent), LOCKED →
 * LOCKED_USED, and an image in use cannot be deleted.
 */
import { createHash, randomBytes } from "node:crypto";
import { ErrorCode, Invalid, OneFailure, action, internal, notFound } from "./errors";
import type { DatastoreObject, ImageObject } from "./objects";
import { DatastoreType, IMAGE_TYPES, ImageState } from "./objects";
import type { MethodTable } from "./methods";
import { filteredPoolInfo, infoMethod, parseAllocateTemplate, renameMethod, updateMethod } from "./methods";
import { nameError } from "./names";
import type { Params } from "./params";
import type { OneTemplate, Vector } from "./template";
import type { World } from "./world";
import { OWNER_USE_MANAGE, element, idCollection, ownerXml, permissionsXml, textElement } from "./xml";

/** The size (MB) the double's datastore driver "measures" for an image copied from a PATH. */
export const STAT_SIZE_MB = 256;

/** `DEFAULT_DEVICE_PREFIX` / `DEFAULT_CDROM_DEVICE_PREFIX` of the stock oned.conf. */
const DEV_PREFIX = { default: "sd", cdrom: "hd" };

const TYPE = Object.fromEntries(IMAGE_TYPES.map((name, index) => [name, index])) as Record<(typeof IMAGE_TYPES)[number], number>;
const FILE_TYPES = new Set([TYPE.KERNEL, TYPE.RAMDISK, TYPE.CONTEXT]);
const STATE_NAMES = ["INIT", "READY", "USED", "DISABLED", "LOCKED", "ERROR", "CLONE", "DELETE", "USED", "LOCKED_USED", "LOCKED_USED_PERS"];

/** Registers the image methods. */
export function registerImageMethods(world: World, methods: MethodTable): void {
    const pool = world.images;
    methods.define("one.image.allocate", (params) => allocate(world, params));
    methods.define("one.image.delete", (params) => {
        const id = params.int(1);
        params.optionalBoolean(2, false);
        return deleteImage(world, id);
    });
    methods.define("one.image.info", infoMethod(pool, imageXml));
    methods.define("one.image.update", updateMethod(pool));
    methods.define("one.image.rename", renameMethod(pool));
    methods.define("one.imagepool.info", filteredPoolInfo("IMAGE_POOL", pool, imageXml));
}

/** `<IMAGE>` in `Image::to_xml` order. */
export function imageXml(i: ImageObject): string {
    return element(
        "IMAGE",
        element("ID", i.id) +
            ownerXml() +
            element("NAME", i.name) +
            permissionsXml(OWNER_USE_MANAGE) +
            element("TYPE", i.type) +
            element("DISK_TYPE", i.diskType) +
            element("PERSISTENT", i.persistent ? 1 : 0) +
            element("REGTIME", i.regtime) +
            textElement("SOURCE", i.source) +
            textElement("PATH", i.path) +
            textElement("FORMAT", i.format) +
            textElement("FS", i.fs) +
            element("SIZE", i.size) +
            element("STATE", i.state) +
            element("PREV_STATE", i.prevState) +
            element("RUNNING_VMS", i.vms.size) +
            element("CLONING_OPS", 0) +
            element("CLONING_ID", -1) +
            element("TARGET_SNAPSHOT", -1) +
            element("DATASTORE_ID", i.datastoreId) +
            element("DATASTORE", i.datastoreName) +
            idCollection("VMS", i.vms) +
            idCollection("CLONES", []) +
            idCollection("APP_CLONES", []) +
            i.template.toXml() +
            element("SNAPSHOTS", element("ALLOW_ORPHANS", "NO") + element("CURRENT_BASE", -1) + element("NEXT_SNAPSHOT", 0)) +
            "<BACKUP_INCREMENTS/><BACKUP_DISK_IDS/>",
    );
}

/**
 * `ImageAllocate::request_execute` → `ImagePool::allocate` → `Image::insert`: template, datastore
 * (must exist and be IMAGE_DS or FILE_DS), size (from the app, the template or the driver), capacity
 * (only when the datastore sets LIMIT_MB: the double's datastores are never monitored), then name,
 * type and uniqueness — failures there are ALLOCATE "Error allocating a new image. …".
 */
function allocate(world: World, params: Params): number {
    const template = parseAllocateTemplate(params.string(1));
    const dsId = params.int(2);
    const checkCapacity = !params.optionalBoolean(3, false);
    const ds = world.datastores.find(dsId);
    if (!ds) throw notFound("datastore", dsId);
    if (ds.type === DatastoreType.SYSTEM_DS || ds.type === DatastoreType.BACKUP_DS) {
        throw allocationFailure("New images can only be allocated in a files or image datastore.");
    }
    const app = appOf(world, template, ds);
    const size = app ? app.size : statImage(template);
    if (checkCapacity && size > availableMb(world, ds)) throw action("Not enough space in datastore");
    template.replace("SIZE", String(size));
    const image = newImage(world, template, ds);
    world.images.insert(image);
    world.later(world.options.imageReadyMs, () => finishCopy(world, image.id, app?.format));
    return image.id;
}

function allocationFailure(message: string): OneFailure {
    return new OneFailure(ErrorCode.ALLOCATE, `Error allocating a new image. ${message}`);
}

/** `FROM_APP`: the app's SOURCE becomes PATH, its FORMAT, name and MD5 are recorded; the datastore's DRIVER wins over the app's. */
function appOf(world: World, template: OneTemplate, ds: DatastoreObject): { size: number; format: string } | undefined {
    const fromApp = template.getOrEmpty("FROM_APP");
    if (!/^\s*-?\d+/.test(fromApp)) return undefined;
    const app = world.marketapps.find(parseInt(fromApp, 10));
    if (!app) throw internal("Cannot determine image SIZE.");
    template.replace("FROM_APP_NAME", app.name);
    template.replace("PATH", app.source);
    template.replace("FORMAT", app.format);
    template.replace("FROM_APP_MD5", app.md5);
    if (ds.template.getOrEmpty("DRIVER") !== "") template.remove("DRIVER");
    return { size: app.size, format: app.format };
}

/** `ImageManager::stat_image`: SIZE from the template for SOURCE and mkfs images, the driver's measure for a PATH. */
function statImage(template: OneTemplate): number {
    const typeName = typeNameOf(template);
    const fail = (reason: string) => internal(`Cannot parse image SIZE: ${reason}`);
    const declaredSize = () => {
        const size = template.getOrEmpty("SIZE").trim();
        if (!/^-?\d+$/.test(size)) throw fail("Wrong number or missing SIZE attribute.");
        return Number(size);
    };
    if (template.getOrEmpty("SOURCE") !== "" || typeName === "BACKUP") return declaredSize();
    if (template.getOrEmpty("PATH") !== "") return STAT_SIZE_MB;
    if (typeName === "OS" || typeName === "DATABLOCK") return declaredSize();
    throw fail(`Either PATH or SOURCE are required for ${typeName}`);
}

/** TYPE upper-cased, OS when absent; an unknown TYPE counts as OS until `Image::insert` rejects it. */
function typeNameOf(template: OneTemplate): string {
    const given = template.getOrEmpty("TYPE").toUpperCase() || "OS";
    return (IMAGE_TYPES as readonly string[]).includes(given) ? given : "OS";
}

/** `Datastore::get_avail_mb`: LIMIT_MB minus what its images use; unlimited without LIMIT_MB or with DATASTORE_CAPACITY_CHECK = NO. */
function availableMb(world: World, ds: DatastoreObject): number {
    const limit = ds.template.getOrEmpty("LIMIT_MB");
    if (!/^\d+$/.test(limit) || ds.template.getOrEmpty("DATASTORE_CAPACITY_CHECK").toUpperCase() === "NO") return Infinity;
    const used = world.images
        .list()
        .filter((i) => i.datastoreId === ds.id)
        .reduce((sum, i) => sum + i.size, 0);
    return Math.max(Number(limit) - used, 0);
}

/** `ImagePool::allocate` checks and `Image::insert`; the new image is LOCKED. */
function newImage(world: World, template: OneTemplate, ds: DatastoreObject): ImageObject {
    const name = template.getOrEmpty("NAME");
    const invalid = nameError(name);
    if (invalid) throw allocationFailure(invalid);
    checkTypeFitsDatastore(typeNameOf(template), ds);
    const taken = world.images.byName(name);
    if (taken) throw allocationFailure(`NAME is already taken by IMAGE ${taken.id}.`);
    try {
        return insertImage(world.images.peekNextId(), template, ds);
    } catch (err) {
        if (err instanceof Invalid) throw allocationFailure(err.message);
        throw err;
    }
}

function checkTypeFitsDatastore(typeName: string, ds: DatastoreObject): void {
    const type = TYPE[typeName as keyof typeof TYPE];
    if ((type === TYPE.OS || type === TYPE.DATABLOCK || type === TYPE.CDROM) && ds.type !== DatastoreType.IMAGE_DS) {
        throw allocationFailure("Only IMAGES of type KERNEL, RAMDISK and CONTEXT can be registered in a FILE_DS datastore");
    }
    if (FILE_TYPES.has(type) && ds.type !== DatastoreType.FILE_DS) {
        throw allocationFailure("IMAGES of type KERNEL, RAMDISK and CONTEXT cannot be registered in an IMAGE_DS datastore");
    }
    if (type === TYPE.BACKUP && ds.type !== DatastoreType.BACKUP_DS) {
        throw allocationFailure("IMAGES of type BACKUP can only be registered in an BACKUP_DS datastore");
    }
}

/** `Image::insert` on `template` (modified in place). @throws Invalid with oned's message. */
function insertImage(id: number, template: OneTemplate, ds: DatastoreObject): ImageObject {
    const name = template.erase("NAME");
    const typeText = (template.erase("TYPE") || "OS").toUpperCase();
    const type = (IMAGE_TYPES as readonly string[]).indexOf(typeText);
    // oned builds this message as `"Unknown type " + type` (an enum added to a char*), which prints no type.
    if (type < 0) throw new Invalid("Unknown type ");
    const persistentText = template.erase("PERSISTENT");
    let persistent = false;
    if (type === TYPE.OS || type === TYPE.DATABLOCK || type === TYPE.CDROM) {
        persistent = persistentText.toUpperCase() === "YES";
        if (template.getOrEmpty("DEV_PREFIX") === "")
            template.add("DEV_PREFIX", type === TYPE.CDROM ? DEV_PREFIX.cdrom : DEV_PREFIX.default);
    } else {
        persistent = type === TYPE.BACKUP;
        template.erase("DEV_PREFIX");
    }
    const size = parseInt(template.erase("SIZE"), 10) || 0;
    const fs = template.erase("FS");
    template.remove("DRIVER");
    const path = template.erase("PATH");
    const source = template.erase("SOURCE");
    let format = template.erase("FORMAT");
    template.remove("TM_MAD");
    if (source !== "") {
        if (path !== "") throw new Invalid("PATH and SOURCE cannot be both set.");
        if (format === "") throw new Invalid("SOURCE needs FORMAT to be set.");
    } else if (type === TYPE.BACKUP) {
        throw new Invalid("SOURCE cannot be empty for BACKUP images");
    } else if (path !== "") {
        format = ""; // the driver reports it after the copy
    } else if (type === TYPE.DATABLOCK || type === TYPE.OS) {
        const dsDriver = ds.template.getOrEmpty("DRIVER");
        if (dsDriver !== "") {
            template.replace("DRIVER", dsDriver);
            format = dsDriver;
        } else if (format === "") {
            format = "raw";
        }
    } else {
        throw new Invalid("No PATH nor SOURCE in template.");
    }
    return {
        id,
        name,
        builtin: false,
        regtime: Math.floor(Date.now() / 1000),
        type,
        diskType: ds.diskType,
        persistent,
        source,
        path,
        format,
        fs,
        size,
        state: ImageState.LOCKED,
        prevState: ImageState.INIT,
        datastoreId: ds.id,
        datastoreName: ds.name,
        vms: new Set(),
        template,
    };
}

/**
 * The driver's copy finished: the image gets its SOURCE in the datastore (unless it named one) and a
 * FORMAT (the app's, or guessed from the PATH), and leaves LOCKED for READY — or USED when VMs took
 * it meanwhile.
 */
function finishCopy(world: World, id: number, appFormat: string | undefined): void {
    const image = world.images.find(id);
    if (
        !image ||
        (image.state !== ImageState.LOCKED && image.state !== ImageState.LOCKED_USED && image.state !== ImageState.LOCKED_USED_PERS)
    )
        return;
    if (image.source === "") {
        const ds = world.datastores.find(image.datastoreId);
        image.source = `${ds?.basePath ?? `/var/lib/one//datastores/${image.datastoreId}`}/${createHash("md5").update(randomBytes(16)).digest("hex")}`;
    }
    if (image.format === "") image.format = appFormat ?? (/\.qcow2$/i.test(image.path) ? "qcow2" : "raw");
    const next =
        image.state === ImageState.LOCKED
            ? ImageState.READY
            : image.state === ImageState.LOCKED_USED
              ? ImageState.USED
              : ImageState.USED_PERS;
    setState(image, next);
    for (const listener of world.imageReadyListeners) listener(id);
}

/**
 * `ImageManager::delete_image`: refused while VMs use it ("Cannot delete image. There are N VMs using
 * it."); an image without SOURCE (copy not finished) is dropped at once, any other goes DELETE and
 * disappears after `imageDeleteMs`.
 */
export function deleteImage(world: World, id: number): number {
    const image = world.images.get(id);
    const inUse = [ImageState.USED, ImageState.USED_PERS, ImageState.LOCKED_USED, ImageState.LOCKED_USED_PERS] as number[];
    if (inUse.includes(image.state) || (image.state === ImageState.READY && image.vms.size > 0)) {
        throw action(`Cannot delete image. There are ${image.vms.size} VMs using it.`);
    }
    if (image.source === "") {
        world.images.remove(id);
        return id;
    }
    setState(image, ImageState.DELETE);
    world.later(world.options.imageDeleteMs, () => world.images.remove(id));
    return id;
}

function setState(image: ImageObject, state: number): void {
    image.prevState = image.state;
    image.state = state;
}

/**
 * `ImagePool::acquire_disk` + `Image::disk_attribute` for DISK `diskId` of VM `vmId`: the image named
 * by IMAGE_ID (or IMAGE) is taken and its attributes copied into the disk. Returns the image, or
 * undefined for a volatile disk (TYPE swap/fs with a SIZE).
 * @throws Invalid "DISK <n>: <reason>" with oned's reason.
 */
export function acquireImage(world: World, vmId: number, disk: Vector, diskId: number): ImageObject | undefined {
    const fail = (reason: string) => new Invalid(`DISK ${diskId}: ${reason}`);
    disk.DISK_ID = String(diskId);
    let image: ImageObject | undefined;
    if (disk.IMAGE_ID !== undefined) {
        image = /^\s*\d+/.test(disk.IMAGE_ID) ? world.images.find(parseInt(disk.IMAGE_ID, 10)) : undefined;
        if (!image) throw fail(`Image with ID: ${disk.IMAGE_ID} does not exist`);
    } else if (disk.IMAGE !== undefined) {
        image = world.images.byName(disk.IMAGE);
        if (!image) throw fail(`User 0 does not own an image with name: ${disk.IMAGE} . Set IMAGE_UNAME or IMAGE_UID of owner in DISK.`);
    } else {
        checkVolatileDisk(disk, fail);
        return undefined;
    }
    takeImage(image, vmId, fail);
    fillDisk(world, image, disk);
    return image;
}

function checkVolatileDisk(disk: Vector, fail: (reason: string) => Invalid): void {
    const type = (disk.TYPE ?? "").toUpperCase();
    if (type !== "SWAP" && type !== "FS") throw fail(`Unknown disk type ${type}`);
    if (!/^\s*\d+\s*$/.test(disk.SIZE ?? "") || Number(disk.SIZE) <= 0) throw fail("SIZE attribute must be a positive integer value.");
}

/** `ImageManager::acquire_image` (not an attach): state checks and RUNNING_VMS. */
function takeImage(image: ImageObject, vmId: number, fail: (reason: string) => Invalid): void {
    const typeName = IMAGE_TYPES[image.type];
    if (FILE_TYPES.has(image.type) || image.type === TYPE.BACKUP) {
        throw fail(`Image ${image.id} (${image.name}) of type ${typeName} cannot be used as DISK.`);
    }
    const persistentInUse = () => fail(`Cannot acquire image ${image.id}, it is persistent and already in use`);
    switch (image.state) {
        case ImageState.READY:
            setState(image, image.persistent ? ImageState.USED_PERS : ImageState.USED);
            break;
        case ImageState.LOCKED:
            setState(image, image.persistent ? ImageState.LOCKED_USED_PERS : ImageState.LOCKED_USED);
            break;
        case ImageState.USED_PERS:
        case ImageState.LOCKED_USED_PERS:
            throw persistentInUse();
        case ImageState.USED:
        case ImageState.LOCKED_USED:
            break;
        default:
            throw fail(`Cannot acquire image ${image.id}, it is in state: ${STATE_NAMES[image.state]}`);
    }
    image.vms.add(vmId);
}

/** `Image::disk_attribute` plus the datastore attributes `disk_extended_info` adds. */
function fillDisk(world: World, image: ImageObject, disk: Vector): void {
    const ds = world.datastores.find(image.datastoreId);
    if (!disk.DEV_PREFIX)
        disk.DEV_PREFIX = image.template.getOrEmpty("DEV_PREFIX") || (image.type === TYPE.CDROM ? DEV_PREFIX.cdrom : DEV_PREFIX.default);
    disk.IMAGE = image.name;
    disk.IMAGE_ID = String(image.id);
    disk.SOURCE = image.source;
    disk.ORIGINAL_SIZE = String(image.size);
    if (!disk.SIZE) disk.SIZE = String(image.size);
    if (image.format !== "") {
        disk.DRIVER = image.format.toLowerCase();
        disk.FORMAT = image.format.toLowerCase();
    }
    disk.IMAGE_STATE = String(image.state);
    disk.PERSISTENT = image.persistent ? "YES" : "NO";
    disk.CLONE = image.persistent ? "NO" : "YES";
    disk.SAVE = image.persistent ? "YES" : "NO";
    disk.READONLY ??= "NO";
    disk.TYPE = image.type === TYPE.CDROM ? "CDROM" : "FILE";
    disk.DATASTORE = image.datastoreName;
    disk.DATASTORE_ID = String(image.datastoreId);
    if (ds) {
        disk.TM_MAD = ds.tmMad;
        disk.CLUSTER_ID = [...ds.clusters].sort((a, b) => a - b).join(",");
    }
    if (image.state === ImageState.LOCKED_USED || image.state === ImageState.LOCKED_USED_PERS) disk.CLONING = "YES";
}

/** `VirtualMachineDisks::extended_info`: a copy of `disk` with the attributes of the image it names (when it exists). */
export function extendedDisk(world: World, disk: Vector): Vector {
    const extended = { ...disk };
    const image =
        disk.IMAGE_ID !== undefined
            ? world.images.find(parseInt(disk.IMAGE_ID, 10))
            : disk.IMAGE !== undefined
              ? world.images.byName(disk.IMAGE)
              : undefined;
    if (image) fillDisk(world, image, extended);
    return extended;
}

/** Whether an image the VM uses is still being copied. */
export function imageIsLocked(image: ImageObject): boolean {
    return image.state === ImageState.LOCKED || image.state === ImageState.LOCKED_USED || image.state === ImageState.LOCKED_USED_PERS;
}

/** `ImageManager::release_image`: the VM stops using the image; the last one out makes it READY again. */
export function releaseImage(world: World, vmId: number, imageId: number): void {
    const image = world.images.find(imageId);
    if (!image || !image.vms.delete(vmId) || image.vms.size > 0) return;
    if (image.state === ImageState.USED || image.state === ImageState.USED_PERS) setState(image, ImageState.READY);
    else if (image.state === ImageState.LOCKED_USED || image.state === ImageState.LOCKED_USED_PERS) setState(image, ImageState.LOCKED);
}
