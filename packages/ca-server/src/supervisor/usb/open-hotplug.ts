/**
 * The server's hotplug events: the token device from USB_DEVICE (when set
 * and the host has USB), and the test/diagnostic FIFO when the command line
 * names one. No source at all is fine: presence checks alone then find a
 * removal, one poll interval later.
 */
import type { UsbId } from '@etoken-ca/contract/core/config';
import { EtokenError, ExitCode } from '@etoken-ca/contract/core/exit-codes';
import { EventFifoError, openEventFifo } from './event-fifo.js';
import { HotplugListeners, type Hotplug } from './hotplug.js';
import { loadUsbBus } from './load-usb.js';
import { watchUsbDevice } from './usb-device-hotplug.js';

export interface HotplugSetup {
  readonly device: UsbId | null;
  /** --usb-events-from PATH */
  readonly eventsFrom: string | undefined;
  readonly info: (message: string) => void;
  readonly warn: (message: string) => void;
}

export async function openHotplug(setup: HotplugSetup): Promise<Hotplug> {
  const sources: Hotplug[] = [];
  if (setup.eventsFrom !== undefined) {
    try {
      sources.push(openEventFifo(setup.eventsFrom, setup.warn));
    } catch (e) {
      if (e instanceof EventFifoError) throw new EtokenError(ExitCode.usage, `--usb-events-from: ${e.message}`);
      throw e;
    }
    setup.warn(`USB events are also read from ${setup.eventsFrom} (test and diagnostic port)`);
  }
  if (setup.device) {
    const loaded = await loadUsbBus();
    if (loaded.bus) sources.push(watchUsbDevice(loaded.bus, setup.device));
    else setup.info(`no USB hotplug events (${loaded.why}): presence checks only`);
  }
  return merge(sources);
}

function merge(sources: readonly Hotplug[]): Hotplug {
  const merged = new HotplugListeners();
  for (const source of sources) {
    source.onAttach(() => merged.emit('attach'));
    source.onDetach(() => merged.emit('detach'));
    merged.onClose(() => source.close());
  }
  return merged;
}
