/** The lab's library API (used by `npm run lab`, test/lab and the benchmarks). */
export { Lab, LabNodeProcess, LabOptions, LabStatus, PingOptions } from "./lab";
export { labPrerequisiteProblems, packageRoot } from "./environment";
export { BgpPeer, EvpnRoute, parseBgpPeers, parseEvpnRoutes } from "./inspect";
export { LAB_NAME_PATTERN, LAB_RUN_VARIABLE, LAB_STATE_ROOT, defaultLabName, labStateDir, randomLabName, validateLabName } from "./naming";
export { LabDownReport, LabLeftovers, LabProcess, LabRun, findLeftovers, stillRunning } from "./teardown";
export { LabNode, LabTopology, LabTopologyOptions, LabVm, buildTopology, labDeviceNames } from "./topology";
export {
    LAB_WIREGUARD_GO,
    WIREGUARD_GO_VARIABLE,
    WireGuardInUse,
    WireguardGoProgram,
    chooseWireguardGo,
    describeWireguardGo,
    formatWireGuardInUse,
} from "./wireguard-go";
