// @kedge/opcua-fixture: a real OPC UA server (node-opcua-server) on a loopback port for mapper tests and e2e.
export { OPCUA_USER, createUserCertificate, removePki, startOpcUaServer, type OpcUaServerUsers, type OpcUaVariables, type TestOpcUaServer, type UserCertificate } from './opcua-server';
