import { requires } from '@kedge/testkit';
import { describeConformance } from './conformance';

describeConformance('websocket', await requires());
describeConformance('quic', await requires('quic'));
describeConformance('webtransport', await requires());
