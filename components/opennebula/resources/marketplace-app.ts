import * as crypto from "crypto";
import type * as pulumi from "@pulumi/pulumi";
import type { OneClient } from "../client";
import {
    CREATION_TOKEN,
    allocateOwn,
    creationTokenOf,
    deleteObject,
    readObject,
    readState,
    renameObject,
    requireObject,
    templateOf,
    updateTemplate,
    waitFor,
    waitUntilGone,
} from "../objects";
import { ImageState, MARKET_APP_STATE_NAMES, MARKET_APP_TYPE_NAMES, MarketAppState, MarketAppType } from "../states";
import type { TemplateInput } from "../template";
import { renderTemplate } from "../template";
import type { XmlElement } from "../xml";
import { child, childInt, childText, children, parseXml } from "../xml";
import { vectorsOf } from "../vm-lifecycle";
import { defineResource } from "./define";
import type { BaseInputs, CommonOutputs, Failures, OneResourceArgs } from "./provider-kit";
import { completeOrRollBack, diffProperties, isUnknown } from "./provider-kit";

/** Arguments of {@link MarketplaceApp}. */
export interface MarketplaceAppArgs extends OneResourceArgs {
    /** Name of the marketplace app, e.g. `"Alpine Linux 3.17"` or `"Service Virtual Router"`. Required. */
    appName: pulumi.Input<string>;
    /** Marketplace to take the app from. Default: whichever marketplace has an app of that name (an error if several do). */
    marketplaceId?: pulumi.Input<number>;
    /** Image datastore the image is downloaded into. Required. */
    datastoreId: pulumi.Input<number>;
    /** Name of the new image, unique among the user's images. Default: the resource name. */
    imageName?: pulumi.Input<string>;
    /** Name of the new VM template, unique among the user's VM templates. Default: the image name (as `onemarketapp export` does). */
    templateName?: pulumi.Input<string>;
    /** How long to wait for the image download (READY), and for its deletion, in seconds. Default 600. */
    readyTimeoutSeconds?: pulumi.Input<number>;
}

interface MarketplaceAppInputs extends BaseInputs {
    appName: string;
    marketplaceId?: number;
    datastoreId: number;
    imageName: string;
    templateName: string;
    readyTimeoutSeconds: number;
}

interface MarketplaceAppOutputs extends MarketplaceAppInputs, CommonOutputs {
    /** The app's ID. */
    appId: number;
    /** The image's ID (also `oneId`). */
    imageId: number;
    /** The VM template's ID; -1 when the app carries no VM template, or the template has disappeared. */
    templateId: number;
    /** Whether the app carries a VM template (`VMTEMPLATE64`), so that a missing one is recreated. */
    appHasTemplate: boolean;
}

/** Image states that count as ready: READY and USED (persistent or not). */
const IMAGE_READY: number[] = [ImageState.READY, ImageState.USED, ImageState.USED_PERS];

function checkMarketplaceApp(news: Record<string, unknown>, failures: Failures): MarketplaceAppInputs {
    const inputs: MarketplaceAppInputs = {
        appName: news.appName as string,
        marketplaceId: news.marketplaceId as number | undefined,
        datastoreId: news.datastoreId as number,
        imageName: news.imageName as string,
        templateName: (news.templateName as string | undefined) ?? (news.imageName as string),
        readyTimeoutSeconds: (news.readyTimeoutSeconds as number | undefined) ?? 600,
    };
    if (!isUnknown(inputs.appName) && (typeof inputs.appName !== "string" || inputs.appName.trim() === "" || inputs.appName.length > 128)) {
        failures.add(
            "appName",
            `appName must be the name of a marketplace app, 1-128 characters, e.g. "Alpine Linux 3.17" (got ${JSON.stringify(inputs.appName)})`,
        );
    }
    if (inputs.marketplaceId !== undefined) failures.id("marketplaceId", inputs.marketplaceId);
    failures.id("datastoreId", inputs.datastoreId);
    failures.name("imageName", inputs.imageName);
    failures.name("templateName", inputs.templateName);
    failures.seconds("readyTimeoutSeconds", inputs.readyTimeoutSeconds);
    return inputs;
}

/** Finds the app by name (and marketplace), and reads it. */
async function findApp(client: OneClient, appName: string, marketplaceId: number | undefined): Promise<XmlElement> {
    const pool = parseXml(String(await client.call("one.marketapppool.info", -2, -1, -1)));
    const matches = children(pool, "MARKETPLACEAPP").filter(
        (app) => childText(app, "NAME") === appName && (marketplaceId === undefined || childInt(app, "MARKETPLACE_ID") === marketplaceId),
    );
    const where = marketplaceId === undefined ? "" : ` in marketplace ${marketplaceId}`;
    if (matches.length === 0) throw new Error(`no marketplace app named ${JSON.stringify(appName)}${where} is visible to this user`);
    if (matches.length > 1) {
        const places = matches.map((app) => `${childText(app, "MARKETPLACE_ID")} (${childText(app, "MARKETPLACE")})`).join(", ");
        throw new Error(
            `several marketplace apps are named ${JSON.stringify(appName)}, in marketplaces ${places}; set marketplaceId to choose one`,
        );
    }
    return requireObject(client, "marketapp", Number(childText(matches[0], "ID")));
}

/** Refuses what `onemarketapp export` refuses (apps not READY) and what this resource does not export (non-image apps). */
function checkExportable(app: XmlElement): void {
    const label = `marketplace app ${childText(app, "ID")} (${childText(app, "NAME")})`;
    const state = childInt(app, "STATE") ?? -1;
    if (state !== MarketAppState.READY)
        throw new Error(`${label} is ${MARKET_APP_STATE_NAMES[state] ?? `in state ${state}`}, not READY, so it cannot be exported`);
    const type = childInt(app, "TYPE") ?? -1;
    if (type !== MarketAppType.IMAGE) {
        throw new Error(
            `${label} is of type ${MARKET_APP_TYPE_NAMES[type] ?? type}; only IMAGE apps (an image plus an optional VM template) can be exported`,
        );
    }
}

/**
 * The app's base64 template with `additions` appended in attribute syntax — what `onemarketapp
 * export` does (marketplaces publish these templates in attribute syntax). OpenNebula parses the
 * result; parsing it here is not needed.
 */
function appendToAppTemplate(base64: string, additions: TemplateInput): string {
    const decoded = Buffer.from(base64, "base64").toString("utf8").trimEnd();
    return `${decoded}${decoded === "" ? "" : "\n"}${renderTemplate(additions)}`;
}

/** The image template: the app's `APPTEMPLATE64` plus NAME, FROM_APP (the core then copies SOURCE, size and format) and the token. */
function imageTemplate(app: XmlElement, imageName: string, token: string): string {
    return appendToAppTemplate(childText(app, "APPTEMPLATE64") ?? "", {
        NAME: imageName,
        FROM_APP: childText(app, "ID") ?? "",
        [CREATION_TOKEN]: token,
    });
}

/** The app's VM template (`TEMPLATE/VMTEMPLATE64`) plus NAME, the new image as a DISK and the token; undefined when it has none. */
function vmTemplate(app: XmlElement, templateName: string, imageId: number, token: string): string | undefined {
    const encoded = vmTemplate64(app);
    return encoded === undefined
        ? undefined
        : appendToAppTemplate(encoded, { NAME: templateName, DISK: { IMAGE_ID: imageId }, [CREATION_TOKEN]: token });
}

function vmTemplate64(app: XmlElement): string | undefined {
    const template = child(app, "TEMPLATE");
    const encoded = template ? childText(template, "VMTEMPLATE64") : undefined;
    return encoded === undefined || encoded.trim() === "" ? undefined : encoded;
}

function hasVmTemplate(app: XmlElement): boolean {
    return vmTemplate64(app) !== undefined;
}

/** Waits until the downloaded image is READY; ERROR is a failure with OpenNebula's reason. */
function waitUntilImageReady(client: OneClient, id: number, timeoutSeconds: number): Promise<XmlElement> {
    return waitFor(
        async () => {
            const { xml: image, state, reason } = await readState(client, "image", id);
            if (state === ImageState.ERROR) throw new Error(`its download went to ERROR${reason}`);
            return IMAGE_READY.includes(state) ? image : undefined;
        },
        { timeoutMs: timeoutSeconds * 1000, intervalMs: 100 },
        () => new Error(`it was still not READY after ${timeoutSeconds} s`),
    );
}

/** As `onemarketapp export`: FORMAT and DRIVER come from the app and must not override the datastore's own. */
async function stripFormatAndDriver(client: OneClient, id: number, image: XmlElement): Promise<void> {
    const template = templateOf(image);
    if (!("FORMAT" in template) && !("DRIVER" in template)) return;
    const { FORMAT: _format, DRIVER: _driver, ...rest } = template;
    await updateTemplate(client, "image", id, rest, "replace");
}

async function deleteImage(client: OneClient, id: number, timeoutSeconds: number): Promise<void> {
    await deleteObject(client, "image", id);
    await waitUntilGone(client, "image", id, timeoutSeconds * 1000);
}

async function createTemplate(
    client: OneClient,
    app: XmlElement,
    inputs: MarketplaceAppInputs,
    imageId: number,
    token: string,
): Promise<number> {
    const template = vmTemplate(app, inputs.templateName, imageId, token);
    return template === undefined ? -1 : allocateOwn(client, "vmtemplate", inputs.templateName, [template], token);
}

async function exportApp(client: OneClient, inputs: MarketplaceAppInputs, token: string): Promise<MarketplaceAppOutputs> {
    const app = await findApp(client, inputs.appName, inputs.marketplaceId);
    checkExportable(app);
    const imageId = await allocateOwn(
        client,
        "image",
        inputs.imageName,
        [imageTemplate(app, inputs.imageName, token), inputs.datastoreId],
        token,
    );
    const outputs: MarketplaceAppOutputs = {
        ...inputs,
        marketplaceId: childInt(app, "MARKETPLACE_ID"),
        oneId: imageId,
        creationToken: token,
        appId: childInt(app, "ID") ?? -1,
        imageId,
        templateId: -1,
        appHasTemplate: hasVmTemplate(app),
    };
    return completeOrRollBack(
        { id: imageId, subject: `image ${imageId}` },
        async () => {
            const image = await waitUntilImageReady(client, imageId, inputs.readyTimeoutSeconds);
            await stripFormatAndDriver(client, imageId, image);
            return { ...outputs, templateId: await createTemplate(client, app, inputs, imageId, token) };
        },
        () => deleteImage(client, imageId, inputs.readyTimeoutSeconds),
        () => outputs,
    );
}

/** The VM template that boots image `imageId`, found by its DISK (an import knows only the image). */
async function templateBooting(client: OneClient, imageId: number): Promise<XmlElement | undefined> {
    const pool = parseXml(String(await client.call("one.templatepool.info", -3, -1, -1)));
    return children(pool, "VMTEMPLATE").find((template) =>
        vectorsOf(templateOf(template).DISK).some((disk) => disk.IMAGE_ID === String(imageId)),
    );
}

/**
 * The outputs as OpenNebula now holds them; undefined when the image is gone (or going). `props`
 * undefined reads them from the image alone, as an import: its app (FROM_APP) and the VM template that boots it.
 */
async function readExport(
    client: OneClient,
    id: number,
    props: MarketplaceAppOutputs | undefined,
): Promise<MarketplaceAppOutputs | undefined> {
    const image = await readObject(client, "image", id);
    if (!image || childInt(image, "STATE") === ImageState.DELETE) return undefined;
    const known = props ?? (await importedExport(client, id, image));
    const template = known.templateId >= 0 ? await readObject(client, "vmtemplate", known.templateId) : undefined;
    return {
        ...known,
        imageName: childText(image, "NAME") ?? "",
        datastoreId: childInt(image, "DATASTORE_ID") ?? known.datastoreId,
        templateId: template ? known.templateId : -1,
        templateName: template ? (childText(template, "NAME") ?? "") : known.templateName,
    };
}

/** What an import learns about an export from its image: the app it came from and the VM template that boots it. */
async function importedExport(client: OneClient, id: number, image: XmlElement): Promise<MarketplaceAppOutputs> {
    const appId = Number(templateOf(image).FROM_APP ?? -1);
    const app = appId >= 0 ? await readObject(client, "marketapp", appId) : undefined;
    const template = await templateBooting(client, id);
    const imageName = childText(image, "NAME") ?? "";
    return {
        appName: app ? (childText(app, "NAME") ?? "") : "",
        marketplaceId: app ? childInt(app, "MARKETPLACE_ID") : undefined,
        datastoreId: childInt(image, "DATASTORE_ID") ?? -1,
        imageName,
        templateName: template ? (childText(template, "NAME") ?? "") : imageName,
        readyTimeoutSeconds: 600,
        oneId: id,
        creationToken: creationTokenOf(image) ?? "",
        appId,
        imageId: id,
        templateId: template ? (childInt(template, "ID") ?? -1) : -1,
        appHasTemplate: app ? hasVmTemplate(app) : template !== undefined,
    };
}

async function updateExport(
    client: OneClient,
    id: number,
    olds: MarketplaceAppOutputs,
    news: MarketplaceAppInputs,
): Promise<MarketplaceAppOutputs> {
    const current = await readExport(client, id, olds);
    if (!current) throw new Error(`image ${id} no longer exists in OpenNebula`);
    if (current.imageName !== news.imageName) await renameObject(client, "image", id, news.imageName);
    let templateId = current.templateId;
    if (templateId >= 0 && current.templateName !== news.templateName)
        await renameObject(client, "vmtemplate", templateId, news.templateName);
    if (templateId < 0 && olds.appHasTemplate) {
        templateId = await createTemplate(
            client,
            await requireObject(client, "marketapp", olds.appId),
            news,
            id,
            olds.creationToken || randomToken(),
        );
    }
    return { ...olds, ...news, marketplaceId: olds.marketplaceId, templateId };
}

async function deleteExport(client: OneClient, id: number, props: MarketplaceAppOutputs): Promise<void> {
    if (props.templateId >= 0) await deleteObject(client, "vmtemplate", props.templateId);
    await deleteImage(client, id, props.readyTimeoutSeconds ?? 600);
}

/**
 * Another app, marketplace or datastore replaces the export; names change in place. A marketplace left
 * out means the one the app was found in. The old export goes first when it would keep a name the new
 * one needs (names are unique per user). A VM template that disappeared is an in-place change.
 */
function diffExport(olds: MarketplaceAppOutputs, news: MarketplaceAppInputs): pulumi.dynamic.DiffResult {
    const effective = { ...news, marketplaceId: news.marketplaceId ?? olds.marketplaceId };
    const diff = diffProperties(olds as unknown as Record<string, unknown>, effective as unknown as Record<string, unknown>, {
        replaceOn: ["appName", "marketplaceId", "datastoreId"],
        updateOn: ["imageName", "templateName", "readyTimeoutSeconds"],
    });
    const keepsAName = olds.imageName === news.imageName || olds.templateName === news.templateName;
    const templateMissing = olds.appHasTemplate && olds.templateId < 0;
    return { ...diff, changes: diff.changes || templateMissing, deleteBeforeReplace: (diff.replaces ?? []).length > 0 && keepsAName };
}

/** A fresh creation token, for a VM template an update recreates for an export that has none (an imported one). */
function randomToken(): string {
    return crypto.randomBytes(16).toString("hex");
}

const marketplaceApp = defineResource<MarketplaceAppArgs, MarketplaceAppInputs, MarketplaceAppOutputs>({
    type: "MarketplaceApp",
    inputs: ["appName", "marketplaceId", "datastoreId", "imageName", "templateName", "readyTimeoutSeconds"],
    defaults: {
        imageName: (resourceName: string) => resourceName,
        templateName: (resourceName: string, args: MarketplaceAppArgs) => args.imageName ?? resourceName,
    },
    replaceOn: ["appName", "marketplaceId", "datastoreId"],
    outputs: ["oneId", "creationToken", "imageId", "templateId", "appId", "appHasTemplate"],
    check: checkMarketplaceApp,
    create: exportApp,
    read: (client, id, olds) => readExport(client, Number(id), olds),
    update: (client, id, olds, news) => updateExport(client, Number(id), olds, news),
    delete: (client, id, olds) => deleteExport(client, Number(id), olds),
    diff: diffExport,
});

/** The dynamic provider behind {@link MarketplaceApp}. */
export const marketplaceAppProvider = marketplaceApp.provider;

/**
 * A marketplace app exported into a datastore, as `onemarketapp export` does client-side (OpenNebula
 * has no export call): an image downloaded from the app (waited for until READY; one that ends in
 * ERROR is deleted again and the error says why) and, when the app carries one, a VM template that
 * boots it. Renames are in place; another app, marketplace or datastore replaces both. Deleting
 * removes the template, then the image, waiting for OpenNebula's asynchronous image delete.
 *
 * @example new MarketplaceApp("alpine", { appName: "Alpine Linux 3.17", datastoreId: 1, connection })
 */
export class MarketplaceApp extends marketplaceApp.Resource {}
