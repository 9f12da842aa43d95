/**
 * OpenNebula's state and type codes, in one place (reference §6.1 and `include/*.h` of OpenNebula;
 * unchanged from 6.6 to 7.0). The objects are plain `as const` records: the providers carry them
 * into the provider process by value.
 */

/** Host `STATE` (1, 5, 6 and 7 are no longer produced since 6.x). */
export const HostState = { INIT: 0, MONITORED: 2, ERROR: 3, DISABLED: 4, OFFLINE: 8 } as const;

/** `one.host.status` argument: what to make of a host. */
export const HostStatusCall = { ENABLE: 0, DISABLE: 1, OFFLINE: 2 } as const;

/** Virtual network `STATE`. */
export const VnetState = { INIT: 0, READY: 1, LOCK_CREATE: 2, LOCK_DELETE: 3, DONE: 4, ERROR: 5, UPDATE_FAILURE: 6 } as const;

/** Image `STATE`. */
export const ImageState = {
    INIT: 0,
    READY: 1,
    USED: 2,
    DISABLED: 3,
    LOCKED: 4,
    ERROR: 5,
    CLONE: 6,
    DELETE: 7,
    USED_PERS: 8,
    LOCKED_USED: 9,
    LOCKED_USED_PERS: 10,
} as const;

/** Marketplace app `STATE`, and its names by number. */
export const MarketAppState = { INIT: 0, READY: 1, LOCKED: 2, ERROR: 3, DISABLED: 4 } as const;
export const MARKET_APP_STATE_NAMES = ["INIT", "READY", "LOCKED", "ERROR", "DISABLED"] as const;

/** Marketplace app `TYPE`, and its names by number. */
export const MarketAppType = { UNKNOWN: 0, IMAGE: 1, VMTEMPLATE: 2, SERVICE_TEMPLATE: 3 } as const;
export const MARKET_APP_TYPE_NAMES = ["UNKNOWN", "IMAGE", "VMTEMPLATE", "SERVICE_TEMPLATE"] as const;

/** Virtual machine `STATE` (`VirtualMachine::VmState`; 7 is unused), and its names by number. */
export const VmState = {
    INIT: 0,
    PENDING: 1,
    HOLD: 2,
    ACTIVE: 3,
    STOPPED: 4,
    SUSPENDED: 5,
    DONE: 6,
    POWEROFF: 8,
    UNDEPLOYED: 9,
    CLONING: 10,
    CLONING_FAILURE: 11,
} as const;
export const VM_STATE_NAMES = [
    "INIT",
    "PENDING",
    "HOLD",
    "ACTIVE",
    "STOPPED",
    "SUSPENDED",
    "DONE",
    "",
    "POWEROFF",
    "UNDEPLOYED",
    "CLONING",
    "CLONING_FAILURE",
] as const;

/** The virtual machine `LCM_STATE`s this package acts on (`VirtualMachine::LcmState`). */
export const LcmState = { LCM_INIT: 0, PROLOG: 1, BOOT: 2, RUNNING: 3 } as const;

/** The LCM states named `*_FAILURE` (36–50 and 61): a VM in one of them does not get to RUNNING by itself. */
export const LCM_FAILURE_NAMES: Readonly<Record<number, string>> = {
    36: "BOOT_FAILURE",
    37: "BOOT_MIGRATE_FAILURE",
    38: "PROLOG_MIGRATE_FAILURE",
    39: "PROLOG_FAILURE",
    40: "EPILOG_FAILURE",
    41: "EPILOG_STOP_FAILURE",
    42: "EPILOG_UNDEPLOY_FAILURE",
    44: "PROLOG_MIGRATE_POWEROFF_FAILURE",
    46: "PROLOG_MIGRATE_SUSPEND_FAILURE",
    47: "BOOT_UNDEPLOY_FAILURE",
    48: "BOOT_STOPPED_FAILURE",
    49: "PROLOG_RESUME_FAILURE",
    50: "PROLOG_UNDEPLOY_FAILURE",
    61: "PROLOG_MIGRATE_UNKNOWN_FAILURE",
};

/** Datastore `TYPE` names, in the order of their numbers. */
export const DATASTORE_TYPES = ["IMAGE_DS", "SYSTEM_DS", "FILE_DS", "BACKUP_DS"] as const;
export type DatastoreType = (typeof DATASTORE_TYPES)[number];
