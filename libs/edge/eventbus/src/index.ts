// @kedge/eventbus: the edge's MQTT bus (KubeEdge's eventbus): an embedded broker and/or a link to an
// external one, topic handlers for other modules (the device twin), uploads of application topics
// to the cloud and a bridge between the two brokers.
export { EventBus, type BusHandler, type BusMessage, type EventBusState, type PublishOptions, type SubscribeOptions } from './event-bus';
export { EventBusError, type EventBusErrorCode } from './errors';
export {
  DEFAULT_ANONYMOUS_RULES,
  DEFAULT_INTERNAL_PORT,
  DEFAULT_UPLOAD_TOPICS,
  LOCAL_CLIENT_RULES,
  isLoopbackHost,
  type LocalClientOptions,
  type MqttUser,
  type TopicRules,
  type ClientTls,
  type EventBusMode,
  type EventBusOptions,
  type ExternalBrokerOptions,
  type InternalBrokerOptions,
  type Qos,
  type ServerTls,
} from './options';
export { checkFilter, checkTopic, filterCovers, topicMatches } from './topics';
export { EVENTBUS_SOURCE, type BinaryContent } from './uploads';
