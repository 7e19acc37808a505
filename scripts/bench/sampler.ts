/**
 * The in-page half of the latency benchmark: a plain-JavaScript init script (a string, so nothing
 * the TypeScript loader adds to functions can break it inside the page) that decodes the
 * simulator's clock stamp and camera tag from every frame the page shows and appends
 * { at: Date.now(), stamp, tag } to window.__bench.frames.
 *
 * The decoder is the one in test/support/frames.ts (readBlocks), cut down to what the page needs:
 * blocks of 20x16 px, LSB left, clock stamp (32 bits) in rows 0..15, tag (16 bits) in rows 16..31;
 * a block is 1 when the mean of R, G and B at its centre is >= 128. Only the top 640x32 pixels are
 * read back, once per frame.
 *
 *   - mode 'video': hooks every `<selector>` <video> as soon as it appears (MutationObserver) and
 *     samples it in requestVideoFrameCallback (fires when a frame is handed to the compositor);
 *     with `untilTag`, only until the first frame with that tag (the benchmark then samples the
 *     rest with test/support/browser.ts sampleVideo(), the sampler the browser tests use).
 *   - mode 'canvas': defines window.onRelayFrame(canvas), which the rtsp-relay page calls from
 *     JSMpeg's onVideoDecode, right after the frame was drawn into the 2D canvas.
 */
export interface PageFrame {
  /** receiver Date.now() when the frame was shown */
  at: number;
  /** sender Date.now() mod 2^32 decoded from the frame */
  stamp: number;
  tag: number;
}

export interface PageBench {
  frames: PageFrame[];
  /**
   * Start-up milestones, receiver Date.now() when first seen (polled every 20 ms until the first
   * frame): 'console-ready' (window.c5.ready), 'tile-<state>' (the camera's tile data-state),
   * 'video' (its <video> appeared), 'relay-playing' (rtsp-relay's loadPlayer resolved).
   */
  marks: Record<string, number>;
  /** frames that could not be read (too small, not ready, exceptions) */
  unreadable: number;
  /** video elements hooked (mode 'video') */
  hooked: number;
  errors: string[];
}

export type SamplerOptions =
  | {
      mode: 'video';
      selector: string;
      /** Stop sampling (stop asking for frame callbacks) after the first frame carrying this tag. */
      untilTag?: number;
      /** The camera's tile element (its data-state is noted in `marks`). */
      tileSelector?: string;
    }
  | { mode: 'canvas' };

export function samplerScript(opts: SamplerOptions): string {
  return `(() => {
  const W = 640, H = 32, BW = 20, BH = 16;
  const bench = { frames: [], marks: {}, unreadable: 0, hooked: 0, errors: [] };
  window.__bench = bench;
  const mark = (name) => { if (!(name in bench.marks)) bench.marks[name] = Date.now(); };
  const tileSelector = ${JSON.stringify(opts.mode === 'video' && opts.tileSelector ? opts.tileSelector : null)};
  const milestones = setInterval(() => {
    if (bench.frames.length > 0 || performance.now() > 120000) return clearInterval(milestones);
    if (window.c5 && window.c5.ready) mark('console-ready');
    if (window.relayState === 'playing') mark('relay-playing');
    if (tileSelector) for (const el of document.querySelectorAll(tileSelector)) {
      if (el.dataset.state) mark('tile-' + el.dataset.state);
      if (el.querySelector('video')) mark('video');
    }
  }, 20);
  const fail = (e) => { bench.unreadable++; if (bench.errors.length < 20) bench.errors.push(String(e && e.message || e)); };
  const readBlocks = (d, row, bits) => {
    const y = row + BH / 2;
    let v = 0;
    for (let i = 0; i < bits; i++) {
      const k = (y * W + i * BW + BW / 2) * 4;
      if ((d[k] + d[k + 1] + d[k + 2]) / 3 >= 128) v += 2 ** i;
    }
    return v;
  };
  const record = (at, data) => bench.frames.push({ at, stamp: readBlocks(data, 0, 32), tag: readBlocks(data, 16, 16) });
  ${
    opts.mode === 'canvas'
      ? `window.onRelayFrame = (canvas) => {
    const at = Date.now();
    try {
      if (canvas.width < W || canvas.height < H) return fail('canvas ' + canvas.width + 'x' + canvas.height);
      record(at, canvas.getContext('2d').getImageData(0, 0, W, H).data);
    } catch (e) { fail(e); }
  };`
      : `const selector = ${JSON.stringify(opts.selector)};
  const untilTag = ${JSON.stringify(opts.untilTag ?? null)};
  let ctx;
  let stopped = false;
  const hooked = new WeakSet();
  const hook = (video) => {
    hooked.add(video);
    bench.hooked++;
    const onFrame = () => {
      const at = Date.now();
      try {
        if (video.videoWidth < W || video.videoHeight < H) fail('video ' + video.videoWidth + 'x' + video.videoHeight);
        else {
          if (!ctx) {
            const c = document.createElement('canvas');
            c.width = W;
            c.height = H;
            ctx = c.getContext('2d', { willReadFrequently: true });
          }
          ctx.drawImage(video, 0, 0, W, H, 0, 0, W, H);
          record(at, ctx.getImageData(0, 0, W, H).data);
          if (untilTag !== null && bench.frames[bench.frames.length - 1].tag === untilTag) stopped = true;
        }
      } catch (e) { fail(e); }
      if (!stopped && video.isConnected) video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  };
  const scan = () => { if (stopped) return; for (const v of document.querySelectorAll(selector)) if (!hooked.has(v)) hook(v); };
  new MutationObserver(scan).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-camera-id'] });
  setInterval(scan, 250);`
  }
})();`;
}
