/**
 * Hotplug events of one vendor:product from usb@2's classic API. The events
 * are unreferenced: they never keep the process alive on their own.
 */
import type { UsbId } from '@etoken-ca/contract/core/config';
import { HotplugListeners, type Hotplug, type HotplugKind } from './hotplug.js';

/** What a device looks like in an attach/detach event. */
export interface UsbDeviceLike {
  readonly deviceDescriptor: { readonly idVendor: number; readonly idProduct: number };
}

/** The part of usb@2's `usb` object used here. */
export interface UsbBus {
  on(event: HotplugKind, listener: (device: UsbDeviceLike) => void): void;
  off(event: HotplugKind, listener: (device: UsbDeviceLike) => void): void;
  unrefHotplugEvents(): void;
}

export function isDevice(device: UsbDeviceLike, id: UsbId): boolean {
  return device.deviceDescriptor.idVendor === id.vendor && device.deviceDescriptor.idProduct === id.product;
}

export function watchUsbDevice(bus: UsbBus, id: UsbId): Hotplug {
  const hotplug = new HotplugListeners();
  for (const kind of ['attach', 'detach'] as const) {
    const listener = (device: UsbDeviceLike): void => {
      if (isDevice(device, id)) hotplug.emit(kind);
    };
    bus.on(kind, listener);
    hotplug.onClose(() => bus.off(kind, listener));
  }
  bus.unrefHotplugEvents();
  return hotplug;
}
