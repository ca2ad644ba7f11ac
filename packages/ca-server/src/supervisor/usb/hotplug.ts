/**
 * The port for USB hotplug events of the token device. Events only make the
 * PKCS#11 presence check immediate; the check stays the authority.
 */
export type HotplugKind = 'attach' | 'detach';

export interface Hotplug {
  onAttach(listener: () => void): void;
  onDetach(listener: () => void): void;
  close(): void;
}

/** The listener bookkeeping every Hotplug adapter shares. */
export class HotplugListeners implements Hotplug {
  private readonly listeners: Record<HotplugKind, Array<() => void>> = { attach: [], detach: [] };
  private readonly closers: Array<() => void> = [];

  onAttach(listener: () => void): void {
    this.listeners.attach.push(listener);
  }

  onDetach(listener: () => void): void {
    this.listeners.detach.push(listener);
  }

  emit(kind: HotplugKind): void {
    for (const listener of this.listeners[kind]) listener();
  }

  /** Something to undo on close (an OS listener, a descriptor). */
  onClose(closer: () => void): void {
    this.closers.push(closer);
  }

  close(): void {
    for (const closer of this.closers.splice(0)) closer();
    this.listeners.attach = [];
    this.listeners.detach = [];
  }
}
