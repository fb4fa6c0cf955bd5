import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { routesServed } from '../../src/app';
import { IS_PUBLIC } from '../../src/common/auth.decorators';
import type { TestApp } from './app';

/** One route: method and route path (`/requests/:id`). */
export interface Route {
  method: string;
  path: string;
}

/** `GET /requests/:id`. */
export const routeKey = (r: Route): string => `${r.method} ${r.path}`;

/** A path with one leading slash, no trailing one, no doubled ones. */
export const normalizePath = (p: string): string => ('/' + p.replace(/^\/+|\/+$/g, '')).replace(/\/{2,}/g, '/');

/** A route Nest serves, with its handler and controller (whose metadata decorators set). */
export interface NestRoute extends Route {
  isPublic: boolean;
  handler: (...args: unknown[]) => unknown;
  controller: new (...args: unknown[]) => unknown;
}

/** Every route Nest knows, from the controllers' metadata, with whether it is @Public() (as routes.e2e-spec.ts). */
export function nestRoutes(t: TestApp): NestRoute[] {
  const reflector = new Reflector();
  const scanner = new MetadataScanner();
  const out: NestRoute[] = [];
  for (const module of t.app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const instance = wrapper.instance as object | undefined;
      const metatype = wrapper.metatype as (new (...args: unknown[]) => unknown) | null;
      if (!instance || !metatype) continue;
      const proto = Object.getPrototypeOf(instance) as Record<string, unknown>;
      const base = [Reflect.getMetadata(PATH_METADATA, metatype) ?? ''].flat() as string[];
      for (const name of scanner.getAllMethodNames(proto)) {
        const handler = proto[name] as (...args: unknown[]) => unknown;
        const sub = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
        if (sub === undefined) continue;
        const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number];
        const isPublic = !!reflector.getAllAndOverride<boolean>(IS_PUBLIC, [handler, metatype]);
        for (const b of base)
          for (const s of [sub].flat()) out.push({ method, path: normalizePath(`${b}/${s}`), isPublic, handler, controller: metatype });
      }
    }
  }
  return out;
}

/** Every route the HTTP server itself serves (Fastify's routes, Swagger's included; the HEAD twins of GET routes left out). */
export function serverRoutes(t: TestApp): Route[] {
  const all = routesServed(t.app);
  const gets = new Set(all.filter((r) => r.method === 'GET').map((r) => r.path));
  return all
    .filter((r) => !(r.method === 'HEAD' && gets.has(r.path)))
    .map((r) => ({ method: r.method, path: normalizePath(r.path) }));
}
