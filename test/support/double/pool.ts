/**
 * One object pool: ID allocation (IDs never reused; some pools reserve 0–99 for built-in objects),
 * lookup by ID and by name, and the oned messages for "not found" and "name taken".
 */
import { internal, notFound } from "./errors";

/** What every pooled object has. */
export interface PoolObject {
    id: number;
    name: string;
    /** Created by the double at start-up (cluster 0, datastores 0–2), not by a test. */
    builtin: boolean;
}

/** Naming of one pool in oned's messages. */
export interface PoolLabels {
    /** Object name in "Error getting <object> [id]." and rename messages, e.g. "virtual network". */
    object: string;
    /** Word in "NAME is already taken by <WORD> <id>.", e.g. "NET". */
    collision: string;
}

/** A pool of objects of one kind. */
export class Pool<T extends PoolObject> {
    private readonly objects = new Map<number, T>();
    private nextId = 0;

    /** @param firstUserId the ID of the first object a client creates (100 for clusters and datastores, else 0) */
    constructor(
        readonly labels: PoolLabels,
        private readonly firstUserId = 0,
    ) {}

    /** The ID the next `insert` will get (nothing is reserved until it is inserted). */
    peekNextId(): number {
        return Math.max(this.nextId, this.firstUserId);
    }

    /** Adds a built-in object with a fixed ID (later objects get higher IDs). */
    insertBuiltin(object: T): void {
        this.objects.set(object.id, object);
        this.nextId = Math.max(this.nextId, object.id + 1);
    }

    /** Adds an object that took `peekNextId()`, consuming that ID. */
    insert(object: T): void {
        if (object.id !== this.peekNextId()) throw new Error(`object ${object.id} does not have the next free ID ${this.peekNextId()}`);
        this.objects.set(object.id, object);
        this.nextId = object.id + 1;
    }

    /** The object, or a NO_EXISTS failure "Error getting <object> [id].". */
    get(id: number): T {
        const found = this.objects.get(id);
        if (!found) throw notFound(this.labels.object, id);
        return found;
    }

    /** The object, or undefined. */
    find(id: number): T | undefined {
        return this.objects.get(id);
    }

    /** The object called `name`, or undefined. */
    byName(name: string): T | undefined {
        return this.list().find((o) => o.name === name);
    }

    /** INTERNAL "NAME is already taken by <WORD> <id>." when `name` is in use. */
    assertNameFree(name: string): void {
        const taken = this.byName(name);
        if (taken) throw internal(`NAME is already taken by ${this.labels.collision} ${taken.id}.`);
    }

    /** Drops the object (its ID stays used). */
    remove(id: number): void {
        this.objects.delete(id);
    }

    /** All objects by ascending ID. */
    list(): T[] {
        return [...this.objects.values()].sort((a, b) => a.id - b.id);
    }
}
