// @kedge/opcua-fixture: a real OPC UA server (node-opcua-server) on a loopback port for mapper tests and e2e.
export { OPCUA_USER, removePki, startOpcUaServer, type OpcUaVariables, type TestOpcUaServer } from './opcua-server';
