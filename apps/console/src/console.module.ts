import { type DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { DataSource } from 'typeorm';
import { Accounts } from './auth/accounts';
import { AdminController } from './auth/admin.controller';
import { AuditLog } from './auth/audit-log';
import { AuthController, COOKIE_SECURE } from './auth/auth.controller';
import { SessionGuard } from './auth/session.guard';
import type { ConsoleConfig } from './config';
import { LedgerController } from './ledger/ledger.controller';
import { LedgerGateway } from './ledger/ledger-gateway';
import { WalletDirectory } from './ledger/wallet-directory';
import { ErpSyncView } from './sync/erp-sync-view';
import { ERP_SYNC_METRICS_URL, SyncController } from './sync/sync.controller';

@Module({})
export class ConsoleModule {
  static register(config: ConsoleConfig, db: DataSource, gateway: LedgerGateway): DynamicModule {
    return {
      module: ConsoleModule,
      controllers: [AuthController, LedgerController, SyncController, AdminController],
      providers: [
        { provide: Accounts, useValue: new Accounts(db, config.CONSOLE_SESSION_TTL_MIN) },
        { provide: AuditLog, useValue: new AuditLog(db) },
        { provide: WalletDirectory, useValue: new WalletDirectory(db) },
        { provide: ErpSyncView, useValue: new ErpSyncView(db) },
        { provide: LedgerGateway, useValue: gateway },
        { provide: COOKIE_SECURE, useValue: config.CONSOLE_COOKIE_SECURE },
        { provide: ERP_SYNC_METRICS_URL, useValue: config.CONSOLE_ERP_SYNC_METRICS_URL },
        { provide: APP_GUARD, useClass: SessionGuard },
      ],
    };
  }
}
