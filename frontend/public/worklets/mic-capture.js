// AudioWorklet: microphone capture. Mixes the input to mono and posts blocks of ~20 ms
// ({samples: Float32Array, rms: number}) at the AudioContext's rate; the page resamples them to 16 kHz.
class MicCaptureProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const ms = (options && options.processorOptions && options.processorOptions.blockMs) || 20;
    this.size = Math.max(128, Math.round((sampleRate * ms) / 1000));
    this.buf = new Float32Array(this.size);
    this.n = 0;
    this.active = true;
    this.port.onmessage = (e) => {
      if (e.data && e.data.type === 'stop') this.active = false;
    };
  }

  process(inputs) {
    const input = inputs[0];
    if (!this.active) return false;
    if (!input || input.length === 0 || !input[0]) return true;
    const frames = input[0].length;
    const channels = input.length;
    for (let i = 0; i < frames; i++) {
      let s = 0;
      for (let c = 0; c < channels; c++) s += input[c][i];
      this.buf[this.n++] = s / channels;
      if (this.n === this.size) {
        let sum = 0;
        for (let j = 0; j < this.size; j++) sum += this.buf[j] * this.buf[j];
        const block = this.buf;
        this.port.postMessage({ samples: block, rms: Math.sqrt(sum / this.size) }, [block.buffer]);
        this.buf = new Float32Array(this.size);
        this.n = 0;
      }
    }
    return true;
  }
}

registerProcessor('mic-capture', MicCaptureProcessor);
