/**
 * Loads usb@2 only where it can work: a host with USB in sysfs. Without it
 * (containers, CI) the native module is never loaded, and a load failure is
 * a reason to log, never a crash.
 */
import { existsSync } from 'node:fs';
import type { UsbBus } from './usb-device-hotplug.js';

const USB_SYSFS = '/sys/bus/usb';

export type UsbLoad = { readonly bus: UsbBus } | { readonly bus: null; readonly why: string };

export async function loadUsbBus(): Promise<UsbLoad> {
  if (!existsSync(USB_SYSFS)) return { bus: null, why: `${USB_SYSFS} does not exist` };
  try {
    const { usb } = await import('usb');
    return { bus: usb as unknown as UsbBus };
  } catch (e) {
    return { bus: null, why: `the usb module did not load: ${(e as Error).message}` };
  }
}
