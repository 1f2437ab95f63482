import { QuicUnavailableError } from '../src/errors';
import { loadQuic } from '../src/quic/load-quic';
import { describeConformance } from './conformance';

const quic = await loadQuic();

describeConformance('websocket');
describeConformance('quic', quic instanceof QuicUnavailableError ? quic.message : undefined);
