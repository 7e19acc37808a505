import type { types } from 'mediasoup';

/**
 * A PipeTransport pair between two routers (either may send to the other), created on first need
 * and closed when the last producer piped through it goes. (Router.pipeToRouter in mediasoup 3.12 keeps its pair open
 * forever and gives no handle to close it, so the pool owns pipes itself.)
 */
export class RouterPipe {
  #users = 0;
  #closed = false;

  private constructor(
    readonly local: types.PipeTransport,
    readonly remote: types.PipeTransport,
    readonly onClose: () => void,
  ) {
    local.observer.once('close', () => this.close());
    remote.observer.once('close', () => this.close());
  }

  static async create(from: types.Router, to: types.Router, listenIp: string, onClose: () => void): Promise<RouterPipe> {
    const [local, remote] = await Promise.all([
      from.createPipeTransport({ listenIp, enableSctp: false, enableRtx: false }),
      to.createPipeTransport({ listenIp, enableSctp: false, enableRtx: false }),
    ]);
    try {
      await Promise.all([
        local.connect({ ip: remote.tuple.localIp, port: remote.tuple.localPort }),
        remote.connect({ ip: local.tuple.localIp, port: local.tuple.localPort }),
      ]);
    } catch (error) {
      local.close();
      remote.close();
      throw error;
    }
    return new RouterPipe(local, remote, onClose);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Pipes a producer of one router into the other (`towardsRemote`: from the local end's router); closing either half closes both. */
  async pipe(producer: types.Producer, towardsRemote: boolean): Promise<{ pipeConsumer: types.Consumer; pipeProducer: types.Producer }> {
    const [sending, receiving] = towardsRemote ? [this.local, this.remote] : [this.remote, this.local];
    this.#users++;
    let pipeConsumer: types.Consumer | undefined;
    let pipeProducer: types.Producer | undefined;
    try {
      pipeConsumer = await sending.consume({ producerId: producer.id });
      pipeProducer = await receiving.produce({
        id: producer.id,
        kind: pipeConsumer.kind,
        rtpParameters: pipeConsumer.rtpParameters,
        paused: pipeConsumer.producerPaused,
        appData: producer.appData,
      });
      if (producer.closed) throw new Error('producer closed while piping');
    } catch (error) {
      pipeProducer?.close();
      pipeConsumer?.close();
      this.#release();
      throw error;
    }
    const consumer = pipeConsumer;
    const piped = pipeProducer;
    consumer.observer.once('close', () => piped.close());
    piped.observer.once('close', () => {
      consumer.close();
      this.#release();
    });
    return { pipeConsumer: consumer, pipeProducer: piped };
  }

  #release(): void {
    this.#users--;
    if (this.#users <= 0) this.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.local.close();
    this.remote.close();
    this.onClose();
  }
}
