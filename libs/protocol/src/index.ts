// @kedge/protocol: the message model shared by cloudcore and edgecore.
export {
  Group,
  Operation,
  newErrorResponse,
  newMessage,
  newResponse,
  type Message,
  type MessageHeader,
  type MessageRoute,
  type NewMessageOptions,
} from './message';
