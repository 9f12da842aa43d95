/**
 * Driver names OpenNebula ships, per version (reference "Measured on real front-ends": 6.10 refuses
 * the `local` transfer driver, 7.0 adds `netapp` and drops `vcenter` datastores and networks and the
 * `ebtables` network driver). `check` accepts a name any supported version ships; a create with a
 * name only some versions ship asks the front-end its version first and fails, naming the field,
 * before anything is allocated.
 */

/** The OpenNebula versions whose driver sets are known: 6.10 and 7.0 (7.x keeps 7.0's). */
export type OneRelease = "6.10" | "7.0";

/** A driver table: the names every version ships, and those only some do. */
interface DriverTable {
    everywhere: readonly string[];
    only: Readonly<Record<string, OneRelease>>;
}

export const DS_MAD_TABLE: DriverTable = {
    everywhere: ["fs", "ceph", "dev", "iscsi_libvirt", "rsync", "restic"],
    only: { vcenter: "6.10" },
};

export const TM_MAD_TABLE: DriverTable = {
    everywhere: ["ssh", "shared", "qcow2", "ceph", "fs_lvm", "fs_lvm_ssh", "dev", "iscsi_libvirt"],
    only: { vcenter: "6.10", local: "7.0", netapp: "7.0" },
};

export const VN_MAD_TABLE: DriverTable = {
    everywhere: ["dummy", "bridge", "fw", "802.1Q", "vxlan", "ovswitch", "ovswitch_vxlan", "elastic", "nodeport"],
    only: { ebtables: "6.10", vcenter: "6.10" },
};

/** Every name of a table, in any version. */
export function allDrivers(table: DriverTable): string[] {
    return [...table.everywhere, ...Object.keys(table.only)];
}

/** A version string (`6.10.5`, `7.0.2.1`) as the release whose driver set it has; undefined for versions before 6.10. */
export function releaseOf(version: string): OneRelease | undefined {
    const [major, minor] = version.split(".").map(Number);
    if (major > 7 || (major === 7 && minor >= 0)) return "7.0";
    if (major === 6 && minor >= 10) return "6.10";
    return undefined;
}

/** Whether a driver name needs the front-end's version to be judged. */
export function isVersionSpecific(table: DriverTable, name: string): boolean {
    return Object.hasOwn(table.only, name);
}

/** Why `version` does not have driver `name` (for `field`), or undefined when it does. */
export function driverProblem(table: DriverTable, field: string, name: string, version: string): string | undefined {
    const release = releaseOf(version);
    const only = table.only[name];
    if (only === undefined || release === undefined || only === release) return undefined;
    const available = [...table.everywhere, ...Object.keys(table.only).filter((n) => table.only[n] === release)];
    return `${field} ${JSON.stringify(name)} is not available on OpenNebula ${version} (only ${only} ships it); use one of ${available.join(", ")}`;
}

/** A driver an object is about to be created with: its table, the argument that names it, and the name. */
export type DriverUse = [table: DriverTable, field: string, name: string | undefined];

/**
 * Before creating an object with a driver only some versions ship, asks the front-end its version
 * (`one.system.version`) and fails naming the argument when it does not ship it. No call for drivers
 * every version ships.
 */
export async function requireDriversOnFrontEnd(client: { call(method: string): Promise<unknown> }, uses: DriverUse[]): Promise<void> {
    const specific = uses.filter(([table, , name]) => name !== undefined && isVersionSpecific(table, name));
    if (specific.length === 0) return;
    const version = String(await client.call("one.system.version"));
    const problems = specific
        .map(([table, field, name]) => driverProblem(table, field, name!, version))
        .filter((p): p is string => p !== undefined);
    if (problems.length > 0) throw new Error(`${problems.join("; ")}; nothing was created`);
}
