import { Body, ConflictException, Controller, Get, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ZodValidationPipe } from '@oq/platform';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { AdminOnly, AgentAuth } from '../auth/agent-auth.guard';

const CategoryBody = z.object({ name: z.string().trim().min(1).max(100) });
type CategoryBody = z.infer<typeof CategoryBody>;

/**
 * The admin-managed ticket category list (seeded by the schema migration). Lives with
 * teams because both are small admin-owned reference lists agents pick from.
 */
@ApiTags('categories')
@Controller('v1/categories')
@AgentAuth()
export class CategoriesController {
  constructor(private readonly ds: DataSource) {}

  @Get()
  list(): Promise<{ id: string; name: string; active: boolean }[]> {
    return this.ds.query('SELECT id, name, active FROM categories ORDER BY name');
  }

  @Post()
  @AdminOnly()
  async create(@Body(new ZodValidationPipe(CategoryBody)) body: CategoryBody) {
    const rows = await this.ds
      .query('INSERT INTO categories (name) VALUES ($1) RETURNING id, name, active', [body.name])
      .catch((err: { code?: string }) => {
        if (err.code === '23505') throw new ConflictException('a category with this name already exists');
        throw err;
      });
    return rows[0];
  }
}
