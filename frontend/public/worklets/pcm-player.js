// AudioWorklet: gap-free player for streamed PCM. The page posts Float32 chunks already at the
// AudioContext's rate ({type: 'push', samples}); they play back to back. {type: 'clear'} drops everything
// queued at once (barge-in). Playback starts when `prebufferMs` is queued, or when no more audio has
// arrived for a moment (a short last piece). Posts {type: 'stats', framesPlayed, queued, playing}.
class PcmPlayerProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const opts = (options && options.processorOptions) || {};
    this.prebuffer = Math.round((sampleRate * (opts.prebufferMs || 60)) / 1000);
    this.queue = [];
    this.offset = 0; // read position in queue[0]
    this.queued = 0;
    this.playing = false;
    this.framesPlayed = 0;
    this.sinceLastPush = 0; // render quanta
    this.sinceStats = 0;
    this.dirty = true;
    this.port.onmessage = (e) => {
      const msg = e.data;
      if (!msg) return;
      if (msg.type === 'push') {
        this.queue.push(msg.samples);
        this.queued += msg.samples.length;
        this.sinceLastPush = 0;
        this.dirty = true;
      } else if (msg.type === 'clear') {
        this.queue = [];
        this.offset = 0;
        this.queued = 0;
        this.playing = false;
        this.dirty = true;
        this.postStats();
      }
    };
  }

  postStats() {
    this.port.postMessage({ type: 'stats', framesPlayed: this.framesPlayed, queued: this.queued, playing: this.playing });
    this.dirty = false;
    this.sinceStats = 0;
  }

  process(_inputs, outputs) {
    const out = outputs[0];
    const ch0 = out[0];
    const frames = ch0.length;
    this.sinceLastPush++;
    if (!this.playing && this.queued > 0) {
      // start once enough is buffered, or when the stream went quiet (~25 ms)
      if (this.queued >= this.prebuffer || this.sinceLastPush * frames > sampleRate * 0.025) {
        this.playing = true;
        this.dirty = true;
      }
    }
    let written = 0;
    if (this.playing) {
      while (written < frames && this.queue.length > 0) {
        const head = this.queue[0];
        const n = Math.min(frames - written, head.length - this.offset);
        ch0.set(head.subarray(this.offset, this.offset + n), written);
        written += n;
        this.offset += n;
        if (this.offset >= head.length) {
          this.queue.shift();
          this.offset = 0;
        }
      }
      this.queued -= written;
      this.framesPlayed += written;
      if (this.queued <= 0) {
        this.queued = 0;
        this.playing = false; // ran dry: wait for the prebuffer again
        this.dirty = true;
      }
    }
    if (written < frames) ch0.fill(0, written);
    for (let c = 1; c < out.length; c++) out[c].set(ch0);
    this.sinceStats++;
    if (this.dirty || (this.playing && this.sinceStats >= 16)) {
      if (this.sinceStats >= 4 || !this.playing) this.postStats();
    }
    return true;
  }
}

registerProcessor('pcm-player', PcmPlayerProcessor);
