import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { IS_PUBLIC } from '../../src/common/auth.decorators';
import type { TestApp } from './app';

/** Where nestjs-pino mounts its middleware (its default `forRoutes`). */
const LOGGER_MIDDLEWARE_PATH = '{/*splat}';

/** One route: method and Express path (`/requests/:id`). */
export interface Route {
  method: string;
  path: string;
}

/** `GET /requests/:id`. */
export const routeKey = (r: Route): string => `${r.method} ${r.path}`;

/** A path with one leading slash, no trailing one, no doubled ones. */
export const normalizePath = (p: string): string => ('/' + p.replace(/^\/+|\/+$/g, '')).replace(/\/{2,}/g, '/');

/** Every route Nest knows, from the controllers' metadata, with whether it is @Public() (as routes.e2e-spec.ts). */
export function nestRoutes(t: TestApp): Array<Route & { isPublic: boolean }> {
  const reflector = new Reflector();
  const scanner = new MetadataScanner();
  const out: Array<Route & { isPublic: boolean }> = [];
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
          for (const s of [sub].flat()) out.push({ method, path: normalizePath(`${b}/${s}`), isPublic });
      }
    }
  }
  return out;
}

/** Every route the HTTP server itself serves (the Express router stack, Swagger's included). */
export function expressRoutes(t: TestApp): Route[] {
  const server = t.app.getHttpAdapter().getInstance() as { _router?: unknown; router?: unknown };
  const router = (server._router ?? server.router) as {
    stack: Array<{ route?: { path: string | string[]; methods: Record<string, boolean> } }>;
  };
  const out: Route[] = [];
  for (const layer of router.stack) {
    // nestjs-pino's request-logging middleware is mounted on this catch-all for every method: not a route.
    if (!layer.route || layer.route.path === LOGGER_MIDDLEWARE_PATH) continue;
    for (const path of [layer.route.path].flat()) {
      for (const [m, on] of Object.entries(layer.route.methods)) {
        if (on && m !== '_all') out.push({ method: m.toUpperCase(), path: normalizePath(path) });
      }
    }
  }
  return out;
}
