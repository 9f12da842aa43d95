/** The lab's library API (used by `npm run lab`, test/lab and the benchmarks). */
export { DEFAULT_LAB_DIR, Lab, LabNodeProcess, LabOptions, LabStatus, PingOptions } from "./lab";
export { labPrerequisiteProblems, packageRoot } from "./environment";
export { BgpPeer, EvpnRoute, parseBgpPeers, parseEvpnRoutes } from "./inspect";
export { LabDownReport, LabLeftovers, LabProcess, findLeftovers, stillRunning } from "./teardown";
export { LAB_PREFIX, LabNode, LabTopology, LabTopologyOptions, LabVm, buildTopology } from "./topology";
