import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db } from '../sql/db';

/**
 * Customers, every identity they write from, links between identities, and merges.
 * Tables: contacts, contact_identities, merge_suggestions.
 */
@Injectable()
export class ContactRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): ContactRepository {
    return new ContactRepository(db);
  }
}
