import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { watchUsbDevice, type UsbBus, type UsbDeviceLike } from './usb-device-hotplug.js';

class FakeBus extends EventEmitter implements UsbBus {
  unrefs = 0;
  unrefHotplugEvents(): void {
    this.unrefs++;
  }
}

const device = (idVendor: number, idProduct: number): UsbDeviceLike => ({ deviceDescriptor: { idVendor, idProduct } });

describe('watchUsbDevice', () => {
  it('passes on attach and detach of the configured vendor:product only, unreferenced', () => {
    const bus = new FakeBus();
    const seen: string[] = [];
    const hotplug = watchUsbDevice(bus, { vendor: 0x0529, product: 0x0620 });
    hotplug.onAttach(() => seen.push('attach'));
    hotplug.onDetach(() => seen.push('detach'));
    bus.emit('attach', device(0x0529, 0x0620));
    bus.emit('attach', device(0x0529, 0x0621));
    bus.emit('detach', device(0x046d, 0x0620));
    bus.emit('detach', device(0x0529, 0x0620));
    expect(seen).toEqual(['attach', 'detach']);
    expect(bus.unrefs).toBe(1);
    hotplug.close();
    expect(bus.listenerCount('attach') + bus.listenerCount('detach')).toBe(0);
  });
});
