import { Body, ConflictException, Controller, Get, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiZodBody, ApiZodResponse, Parsed, ZodValidationPipe } from '@oq/platform';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { AdminOnly, AgentAuth } from '../auth/agent-auth.guard';
import { CategoryBody, CategoryView } from './teams.dto';

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
  @ApiOperation({ summary: 'Every ticket category, by name' })
  @ApiZodResponse(200, z.array(CategoryView), 'The categories')
  list(): Promise<{ id: string; name: string; active: boolean }[]> {
    return this.ds.query('SELECT id, name, active FROM categories ORDER BY name');
  }

  @Post()
  @AdminOnly()
  @ApiOperation({ summary: 'Add a ticket category' })
  @ApiZodBody(CategoryBody)
  @ApiZodResponse(201, CategoryView, 'The new category')
  @ApiErrors({ 409: 'A category with this name already exists' })
  async create(@Body(new ZodValidationPipe(CategoryBody)) body: Parsed<typeof CategoryBody>) {
    const rows = await this.ds
      .query('INSERT INTO categories (name) VALUES ($1) RETURNING id, name, active', [body.name])
      .catch((err: { code?: string }) => {
        if (err.code === '23505') throw new ConflictException('a category with this name already exists');
        throw err;
      });
    return rows[0];
  }
}
